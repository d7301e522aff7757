#include "database.hpp"

#include <unistd.h>

#include <charconv>

#include "migrations.hpp"

namespace assure::control_room {

std::string Rows::text(std::size_t row, std::size_t column) const {
  if (row >= rows.size() || column >= rows[row].size() || !rows[row][column]) return {};
  return *rows[row][column];
}

std::int64_t Rows::number(std::size_t row, std::size_t column) const {
  const std::string t = text(row, column);
  std::int64_t value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);
  return value;
}

namespace {
// This process among the instances: its notifications are its own to skip.
const std::string& instance_tag() {
  static const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(now_ms());
  return tag;
}
constexpr std::size_t kNotifyLimit = 7900;  // PostgreSQL takes payloads under 8000 bytes
}  // namespace

Result<void> tell_others(Database& db, const std::string& live_json) {
  if (db.engine() != Engine::postgres) return {};
  // Too long for a notification: the others' consoles are told to reload instead.
  const std::string& body = live_json.size() + instance_tag().size() + 1 > kNotifyLimit ? std::string(R"({"kind":"reload"})") : live_json;
  return db.notify(instance_tag() + "\n" + body);
}

std::optional<std::string> from_others(const std::string& notification) {
  const auto newline = notification.find('\n');
  if (newline == std::string::npos || notification.compare(0, newline, instance_tag()) == 0) return std::nullopt;
  return notification.substr(newline + 1);
}

Result<std::unique_ptr<Database>> open_database(const std::string& where) {
  if (where.starts_with("postgresql://") || where.starts_with("postgres://") || where.find("dbname=") != std::string::npos) {
    return open_postgres(where);
  }
  return open_sqlite(where.starts_with("sqlite:") ? where.substr(7) : where);
}

Result<int> migrate(Database& db) {
  const bool pg = db.engine() == Engine::postgres;
  // Instances starting together take turns (PostgreSQL: an advisory lock for the session;
  // SQLite: the write lock of BEGIN IMMEDIATE).
  if (pg) {
    if (auto ok = db.query("SELECT pg_advisory_lock(715001)"); !ok) return std::unexpected(ok.error());
  }
  auto unlock = [&] {
    if (pg) (void)db.query("SELECT pg_advisory_unlock(715001)");
  };
  int applied = 0;
  if (auto ok = db.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                         "description TEXT NOT NULL, applied_at TEXT NOT NULL)");
      !ok) {
    unlock();
    return std::unexpected(ok.error());
  }
  for (const Migration& m : migrations()) {
    if (auto ok = db.begin(); !ok) {
      unlock();
      return std::unexpected(ok.error());
    }
    auto done = db.query("SELECT 1 FROM schema_migrations WHERE version = $1", {std::int64_t{m.version}});
    if (!done) {
      db.rollback();
      unlock();
      return std::unexpected(done.error());
    }
    if (!done->empty()) {
      db.rollback();
      continue;
    }
    for (const std::string& statement : m.statements(db.engine())) {
      if (auto ok = db.query(statement); !ok) {
        db.rollback();
        unlock();
        return fail(Errc::io, "migration " + std::to_string(m.version) + " (" + m.description + "): " + ok.error().message);
      }
    }
    auto recorded = db.query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
                             {std::int64_t{m.version}, m.description, now_text()});
    auto committed = recorded ? db.commit() : Result<void>(std::unexpected(recorded.error()));
    if (!committed) {
      db.rollback();
      unlock();
      return std::unexpected(committed.error());
    }
    ++applied;
  }
  unlock();
  return applied;
}

}  // namespace assure::control_room
