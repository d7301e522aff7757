#pragma once
// The control room's database, as the rest of the service sees it: SQL text with $1, $2, ...
// parameters, rows of text back. Two engines behind it: SQLite (the embedded default: one file,
// WAL, nothing to set up) and PostgreSQL through libpqxx (several instances sharing one database).
// One connection per thread; every failure is an error naming the statement, never a throw.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "assure/base/error.hpp"

namespace assure::control_room {

using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;
using Params = std::vector<Value>;

struct Rows {
  std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt: NULL
  bool empty() const { return rows.empty(); }
  std::size_t size() const { return rows.size(); }
  // Cell (row, column) as text ("" for NULL) or as a number (0 for NULL or not a number).
  std::string text(std::size_t row, std::size_t column) const;
  std::int64_t number(std::size_t row, std::size_t column) const;
};

enum class Engine { sqlite, postgres };

class Database {
 public:
  virtual ~Database() = default;
  virtual Engine engine() const = 0;
  virtual Result<Rows> query(std::string_view sql, const Params& params = {}) = 0;
  // One transaction at a time per connection; queries outside one commit on their own.
  virtual Result<void> begin() = 0;
  virtual Result<void> commit() = 0;
  virtual void rollback() = 0;
  // Instances sharing one database tell each other what changed: a message sent inside a
  // transaction reaches the listeners when (and only if) it commits (PostgreSQL's NOTIFY on the
  // channel assure_live). SQLite has one instance: it sends and hears nothing.
  virtual Result<void> notify(const std::string& message) = 0;
  // What was sent since the last call, waiting up to `timeout` for something.
  virtual Result<std::vector<std::string>> notifications(std::chrono::milliseconds timeout) = 0;
};

// "sqlite:PATH" (or a plain path) or "postgresql://..." / "postgres://..." / "host=... dbname=...".
Result<std::unique_ptr<Database>> open_database(const std::string& where);
Result<std::unique_ptr<Database>> open_sqlite(const std::string& path);
Result<std::unique_ptr<Database>> open_postgres(const std::string& conninfo);

// What this instance stored or did, told to the others sharing the database (in the current
// transaction, if one is open); and a notification heard, if another instance sent it.
Result<void> tell_others(Database& db, const std::string& live_json);
std::optional<std::string> from_others(const std::string& notification);

// The schema, brought to the newest version: each migration once, in order, in its own
// transaction, recorded in schema_migrations. Several instances starting at once take turns.
Result<int> migrate(Database& db);

}  // namespace assure::control_room
