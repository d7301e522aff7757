// SQLite: WAL, synchronous=FULL (a commit is on storage before the broker hears of it), a busy
// timeout for the second connection of the process (the console's), foreign keys on.

#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "database.hpp"

namespace assure::control_room {
namespace {

class Sqlite final : public Database {
 public:
  explicit Sqlite(sqlite3* db) : db_(db) {}
  ~Sqlite() override { sqlite3_close_v2(db_); }
  Engine engine() const override { return Engine::sqlite; }

  Result<Rows> query(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
      return fail(Errc::io, error("preparing", sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string name = "$" + std::to_string(i + 1);
      const int at = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (at == 0) continue;  // not used by this statement
      const Value& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) sqlite3_bind_null(stmt, at);
      else if (const auto* n = std::get_if<std::int64_t>(&v)) sqlite3_bind_int64(stmt, at, *n);
      else {
        const auto& s = std::get<std::string>(v);
        sqlite3_bind_text(stmt, at, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
    }
    Rows rows;
    while (true) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        const int columns = sqlite3_column_count(stmt);
        auto& row = rows.rows.emplace_back();
        for (int c = 0; c < columns; ++c) {
          if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
            row.emplace_back();
          } else {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            row.emplace_back(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
          }
        }
        continue;
      }
      if (rc == SQLITE_DONE) break;
      std::string why = error("running", sql);
      sqlite3_finalize(stmt);
      return fail(Errc::io, why);
    }
    sqlite3_finalize(stmt);
    return rows;
  }

  Result<void> begin() override { return plain("BEGIN IMMEDIATE"); }
  Result<void> commit() override { return plain("COMMIT"); }
  void rollback() override { (void)plain("ROLLBACK"); }
  Result<void> notify(const std::string&) override { return {}; }
  Result<std::vector<std::string>> notifications(std::chrono::milliseconds) override {
    return fail(Errc::unsupported, "SQLite serves one instance: there is nobody to hear from");
  }

 private:
  Result<void> plain(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = std::string("sqlite: ") + sql + ": " + (message ? message : "failed");
      sqlite3_free(message);
      return fail(Errc::io, why);
    }
    return {};
  }
  std::string error(const char* doing, std::string_view sql) const {
    return std::string("sqlite: ") + doing + " \"" + std::string(sql.substr(0, 80)) + "\": " + sqlite3_errmsg(db_);
  }
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = "sqlite: cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return fail(Errc::io, why);
  }
  sqlite3_busy_timeout(db, 10000);
  auto out = std::make_unique<Sqlite>(db);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto ok = out->query(pragma, {}); !ok) return std::unexpected(ok.error());
  }
  return std::unique_ptr<Database>(std::move(out));
}

}  // namespace assure::control_room
