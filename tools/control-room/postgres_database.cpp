// PostgreSQL through libpqxx: parameters go as text (the server types them from the statement),
// a transaction is a pqxx::work held between begin() and commit().

#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <utility>

#include "database.hpp"

namespace assure::control_room {
namespace {

class Postgres final : public Database {
 public:
  explicit Postgres(const std::string& conninfo) : conninfo_(conninfo), connection_(std::make_unique<pqxx::connection>(conninfo)) {}
  Engine engine() const override { return Engine::postgres; }

  Result<Rows> query(std::string_view sql, const Params& params) override {
    if (!work_) {
      if (auto ok = reconnect(); !ok) return std::unexpected(ok.error());
    }
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
        pqxx::nontransaction once(*connection_);
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
    } catch (const pqxx::broken_connection& e) {
      work_.reset();
      broken_ = true;  // (the next statement outside a transaction connects again)
      return fail(Errc::unavailable, "postgres: the connection broke: " + std::string(e.what()));
    } catch (const std::exception& e) {
      if (work_) work_.reset();  // the transaction is aborted: it commits nothing
      return fail(Errc::io, "postgres: \"" + std::string(sql.substr(0, 80)) + "\": " + e.what());
    }
  }

  Result<void> begin() override {
    if (auto ok = reconnect(); !ok) return ok;
    try {
      work_.emplace(*connection_);
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

  Result<void> notify(const std::string& message) override {
    auto r = query("SELECT pg_notify('assure_live', $1)", {message});
    if (!r) return std::unexpected(r.error());
    return {};
  }

  Result<std::vector<std::string>> notifications(std::chrono::milliseconds timeout) override {
    try {
      if (auto ok = reconnect(); !ok) return std::unexpected(ok.error());
      if (!receiver_) receiver_ = std::make_unique<Receiver>(*connection_, heard_);
      connection_->await_notification(static_cast<long>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000);
      connection_->get_notifs();
      return std::exchange(heard_, {});
    } catch (const pqxx::broken_connection& e) {
      broken_ = true;
      return fail(Errc::unavailable, std::string("postgres: LISTEN assure_live: the connection broke: ") + e.what());
    } catch (const std::exception& e) {
      return fail(Errc::io, std::string("postgres: LISTEN assure_live: ") + e.what());
    }
  }

 private:
  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& c, std::vector<std::string>& into) : notification_receiver(c, "assure_live"), into_(into) {}
    void operator()(const std::string& payload, int) override { into_.push_back(payload); }

   private:
    std::vector<std::string>& into_;
  };
  // A server restarted or a link lost: a new connection, its LISTEN made again on the next wait.
  Result<void> reconnect() {
    if (!broken_ && connection_->is_open()) return {};
    try {
      receiver_.reset();
      connection_ = std::make_unique<pqxx::connection>(conninfo_);
      broken_ = false;
      return {};
    } catch (const std::exception& e) {
      return fail(Errc::unavailable, std::string("postgres: cannot connect again: ") + e.what());
    }
  }

  std::string conninfo_;
  std::unique_ptr<pqxx::connection> connection_;
  bool broken_ = false;
  std::optional<pqxx::work> work_;
  std::vector<std::string> heard_;
  std::unique_ptr<Receiver> receiver_;
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
