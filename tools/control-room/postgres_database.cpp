// PostgreSQL through libpqxx: parameters go as text (the server types them from the statement),
// a transaction is a pqxx::work held between begin() and commit().

#include <pqxx/pqxx>

#include <optional>

#include "database.hpp"

namespace assure::control_room {
namespace {

class Postgres final : public Database {
 public:
  explicit Postgres(const std::string& conninfo) : connection_(conninfo) {}
  Engine engine() const override { return Engine::postgres; }

  Result<Rows> query(std::string_view sql, const Params& params) override {
    std::vector<std::string> storage;
    storage.reserve(params.size());
    for (const Value& v : params) {
      if (!std::holds_alternative<std::nullptr_t>(v)) {
        storage.push_back(std::holds_alternative<std::int64_t>(v) ? std::to_string(std::get<std::int64_t>(v))
                                                                  : std::get<std::string>(v));
      }
    }
    std::vector<const char*> values(params.size(), nullptr);  // nullptr: NULL
    for (std::size_t i = 0, s = 0; i < params.size(); ++i) {
      if (!std::holds_alternative<std::nullptr_t>(params[i])) values[i] = storage[s++].c_str();
    }
    try {
      pqxx::result result;
      const std::string text(sql);
      if (work_) {
        result = work_->exec_params(text, pqxx::prepare::make_dynamic_params(values));
      } else {
        pqxx::nontransaction once(connection_);
        result = once.exec_params(text, pqxx::prepare::make_dynamic_params(values));
      }
      Rows rows;
      for (const auto& r : result) {
        auto& row = rows.rows.emplace_back();
        for (const auto& field : r) {
          if (field.is_null()) row.emplace_back();
          else row.emplace_back(std::string(field.c_str(), field.size()));
        }
      }
      return rows;
    } catch (const std::exception& e) {
      if (work_) work_.reset();  // the transaction is aborted: it commits nothing
      return fail(Errc::io, "postgres: \"" + std::string(sql.substr(0, 80)) + "\": " + e.what());
    }
  }

  Result<void> begin() override {
    try {
      work_.emplace(connection_);
      return {};
    } catch (const std::exception& e) {
      return fail(Errc::io, std::string("postgres: BEGIN: ") + e.what());
    }
  }
  Result<void> commit() override {
    if (!work_) return fail(Errc::io, "postgres: COMMIT without a transaction (an earlier statement failed)");
    try {
      work_->commit();
      work_.reset();
      return {};
    } catch (const std::exception& e) {
      work_.reset();
      return fail(Errc::io, std::string("postgres: COMMIT: ") + e.what());
    }
  }
  void rollback() override { work_.reset(); }  // pqxx aborts a transaction it destroys uncommitted

 private:
  pqxx::connection connection_;
  std::optional<pqxx::work> work_;
};

}  // namespace

Result<std::unique_ptr<Database>> open_postgres(const std::string& conninfo) {
  try {
    return std::unique_ptr<Database>(std::make_unique<Postgres>(conninfo));
  } catch (const std::exception& e) {
    return fail(Errc::unavailable, std::string("postgres: cannot connect: ") + e.what());
  }
}

}  // namespace assure::control_room
