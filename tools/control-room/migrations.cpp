#include "migrations.hpp"

#include <chrono>

#include "assure/base/utc.hpp"

namespace assure::control_room {

std::string now_text() { return utc_iso8601(std::chrono::system_clock::now()); }
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> Migration::statements(Engine engine) const {
  const std::string id = engine == Engine::postgres ? "id BIGSERIAL PRIMARY KEY" : "id INTEGER PRIMARY KEY AUTOINCREMENT";
  std::vector<std::string> out;
  for (std::string s : sql) {
    for (auto at = s.find("{id}"); at != std::string::npos; at = s.find("{id}")) s.replace(at, 4, id);
    out.push_back(std::move(s));
  }
  return out;
}

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{
      {1,
       "the fleet, what it says, the alarm queue and the operators",
       {
           // One row a device: its latest state, kept current by whichever instance hears it.
           "CREATE TABLE devices (site TEXT NOT NULL, device TEXT NOT NULL, first_seen TEXT NOT NULL, "
           "state TEXT NOT NULL DEFAULT 'unknown', state_reason TEXT NOT NULL DEFAULT '', state_at TEXT, "
           "boot_id TEXT NOT NULL DEFAULT '', firmware TEXT NOT NULL DEFAULT '', board TEXT NOT NULL DEFAULT '', "
           "camera TEXT NOT NULL DEFAULT '', last_heartbeat TEXT, last_heartbeat_ms BIGINT, heartbeat TEXT, "
           "heartbeat_stored_ms BIGINT NOT NULL DEFAULT 0, supervision TEXT NOT NULL DEFAULT 'ok', "
           "supervision_s INTEGER NOT NULL DEFAULT 180, PRIMARY KEY (site, device))",
           "CREATE TABLE status_history ({id}, site TEXT NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL, "
           "state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')",
           "CREATE INDEX status_history_device ON status_history (site, device, at)",
           // Downsampled: one a minute a device (the newest is always on the device's row).
           "CREATE TABLE heartbeats ({id}, site TEXT NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL, payload TEXT NOT NULL)",
           "CREATE INDEX heartbeats_device ON heartbeats (site, device, at)",
           // Events, and the queue: queue 'open' until acknowledged, 'acked', then 'closed'; 'none'
           // for information that needs no one. Events the control room raises itself
           // (supervision, restarts) have verified 2.
           "CREATE TABLE events ({id}, site TEXT NOT NULL, device TEXT NOT NULL, event_id TEXT NOT NULL, "
           "seq BIGINT NOT NULL DEFAULT 0, type TEXT NOT NULL, severity TEXT NOT NULL, priority INTEGER NOT NULL, "
           "time TEXT NOT NULL, received TEXT NOT NULL, received_ms BIGINT NOT NULL, verified INTEGER NOT NULL, "
           "zone TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '', clip TEXT NOT NULL DEFAULT '', "
           "payload TEXT NOT NULL, snapshot_expected INTEGER NOT NULL DEFAULT 0, snapshot_file TEXT, "
           "queue TEXT NOT NULL, acked_by TEXT, acked_at TEXT, note TEXT, outcome TEXT, closed_by TEXT, closed_at TEXT, "
           "UNIQUE (site, device, event_id))",
           "CREATE INDEX events_queue ON events (queue, priority, received_ms)",
           "CREATE INDEX events_device ON events (site, device, received_ms)",
           "CREATE TABLE clips (site TEXT NOT NULL, device TEXT NOT NULL, clip TEXT NOT NULL, file TEXT NOT NULL, "
           "manifest_file TEXT NOT NULL, received TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY (site, device, clip))",
           "CREATE TABLE gaps ({id}, site TEXT NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL, clip TEXT NOT NULL DEFAULT '', "
           "message TEXT NOT NULL)",
           "CREATE TABLE rejections ({id}, site TEXT NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL, "
           "clip TEXT NOT NULL DEFAULT '', message TEXT NOT NULL)",
           // Evidence that arrived and is not yet a whole verified clip or snapshot: kept here before
           // the broker is told, and given to the evidence desk again after a restart.
           "CREATE TABLE parts ({id}, site TEXT NOT NULL, device TEXT NOT NULL, clip TEXT NOT NULL, "
           "topic TEXT NOT NULL, payload TEXT NOT NULL, received TEXT NOT NULL)",
           "CREATE INDEX parts_clip ON parts (site, device, clip)",
           "CREATE TABLE audit ({id}, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
           "target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')",
           "CREATE TABLE accounts (name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL, created TEXT NOT NULL, "
           "failures INTEGER NOT NULL DEFAULT 0, locked_until_ms BIGINT NOT NULL DEFAULT 0)",
           // Only a hash of the session token is kept: a copy of the database logs nobody in.
           "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL, "
           "created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, idle_until_ms BIGINT NOT NULL)",
       }},
  };
  return all;
}

}  // namespace assure::control_room
