#include "store.hpp"

#include "assure/base/utc.hpp"
#include "assure/firmware/uplink/json_input.hpp"
#include "migrations.hpp"
#include "priority.hpp"

namespace assure::control_room {
namespace {

using nlohmann::json;

constexpr const char* kEventColumns =
    "id, site, device, event_id, seq, type, severity, priority, time, received, verified, zone, source, clip, "
    "payload, snapshot_expected, snapshot_file, queue, acked_by, acked_at, note, outcome, closed_by, closed_at, "
    // The picture beside it: its own, or the device's first in the two minutes after it (the
    // snapshot the control room asked for when it came), or its last in the minute before.
    "COALESCE((SELECT min(p.id) FROM events p WHERE p.site = e.site AND p.device = e.device AND "
    "p.snapshot_file IS NOT NULL AND p.received_ms BETWEEN e.received_ms AND e.received_ms + 120000), "
    "(SELECT max(p.id) FROM events p WHERE p.site = e.site AND p.device = e.device AND p.snapshot_file IS NOT NULL "
    "AND p.received_ms BETWEEN e.received_ms - 60000 AND e.received_ms)) AS snapshot_event";

// Text from outside as a column takes it: PostgreSQL's text holds no NUL (JSON's \u0000 decodes to
// one), so it becomes U+FFFD, in both engines alike.
std::string column_text(std::string text) {
  for (auto at = text.find('\0'); at != std::string::npos; at = text.find('\0', at)) text.replace(at, 1, "\xEF\xBF\xBD");
  return text;
}

std::string text_of(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? column_text(it->get<std::string>()) : std::string{};
}

json stored_json(const std::string& text) {
  auto parsed = uplink::parse_json(text, "stored", {.max_bytes = 1u << 20, .max_depth = 32, .max_string = 64u << 10});
  return parsed ? std::move(*parsed) : json(nullptr);
}

template <class T>
Result<T> error_of(const Result<Rows>& r) {
  return std::unexpected(r.error());
}

Result<void> run(Database& db, std::string_view sql, const Params& params) {
  auto r = db.query(sql, params);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace

Store::Store(Database& db, std::int64_t supervision_s) : db_(db), supervision_s_(supervision_s), started_ms_(now_ms()) {}

json event_json(const Rows& r, std::size_t i) {
  json e{{"id", r.number(i, 0)},          {"site", r.text(i, 1)},      {"device", r.text(i, 2)},
         {"event_id", r.text(i, 3)},     {"seq", r.number(i, 4)},     {"type", r.text(i, 5)},
         {"severity", r.text(i, 6)},     {"priority", r.number(i, 7)},
         {"priority_name", to_string(static_cast<Priority>(r.number(i, 7)))},
         {"time", r.text(i, 8)},         {"received", r.text(i, 9)},  {"verified", r.number(i, 10)},
         {"zone", r.text(i, 11)},        {"source", r.text(i, 12)},   {"clip", r.text(i, 13)},
         {"snapshot_expected", r.number(i, 15) != 0},                 {"snapshot", !r.text(i, 16).empty()},
         {"snapshot_event", r.text(i, 24).empty() ? json(nullptr) : json(r.number(i, 24))},
         {"queue", r.text(i, 17)},       {"acked_by", r.text(i, 18)}, {"acked_at", r.text(i, 19)},
         {"note", r.text(i, 20)},        {"outcome", r.text(i, 21)},  {"closed_by", r.text(i, 22)},
         {"closed_at", r.text(i, 23)}};
  const json payload = stored_json(r.text(i, 14));
  e["details"] = payload.is_object() && payload.contains("details") ? payload["details"] : json::object();
  return e;
}

json event_json(const NewEvent& e, std::int64_t id) {
  const Priority p = priority_of(e.type, e.severity);
  const json payload = stored_json(e.payload);
  return {{"id", id},           {"site", e.site},     {"device", e.device},       {"event_id", e.event_id},
          {"seq", e.seq},       {"type", e.type},     {"severity", e.severity},   {"priority", static_cast<int>(p)},
          {"priority_name", to_string(p)},            {"time", e.time},           {"received", utc_iso8601(std::chrono::system_clock::time_point(std::chrono::milliseconds(e.received_ms)))},
          {"verified", e.verified}, {"zone", e.zone}, {"source", e.source},       {"clip", e.clip},
          {"snapshot_expected", e.snapshot_expected}, {"snapshot", false},        {"snapshot_event", nullptr},
          {"queue", queued(p) ? "open" : "none"},     {"acked_by", ""},           {"acked_at", ""},
          {"note", ""},         {"outcome", ""},      {"closed_by", ""},          {"closed_at", ""},
          {"details", payload.is_object() && payload.contains("details") ? payload["details"] : json::object()}};
}

Result<void> Store::ensure_device(const DeviceKey& who, const std::string& now) {
  if (known_devices_.contains(who.site + "/" + who.device)) return {};
  known_devices_.insert(who.site + "/" + who.device);
  return run(db_, "INSERT INTO devices (site, device, first_seen, supervision_s) VALUES ($1, $2, $3, $4) "
                  "ON CONFLICT (site, device) DO NOTHING",
             {who.site, who.device, now, supervision_s_});
}

Result<bool> Store::status(const DeviceKey& who, const json& payload) {
  const std::string now = now_text();
  if (auto ok = ensure_device(who, now); !ok) return std::unexpected(ok.error());
  auto before = db_.query("SELECT state, state_reason, boot_id FROM devices WHERE site = $1 AND device = $2",
                          {who.site, who.device});
  if (!before) return error_of<bool>(before);
  const std::string state = text_of(payload, "state"), reason = text_of(payload, "reason"),
                    boot = text_of(payload, "boot_id");
  const std::string old_state = before->text(0, 0), old_reason = before->text(0, 1), old_boot = before->text(0, 2);
  const bool online = state == "online";
  const bool restarted = online && !old_boot.empty() && !boot.empty() && boot != old_boot &&
                         !(old_state == "offline" && old_reason == "shutdown");
  if (state == old_state && (!online || boot == old_boot)) return false;  // a retained repeat
  auto updated = online ? db_.query("UPDATE devices SET state = $3, state_reason = '', state_at = $4, boot_id = $5, "
                                    "firmware = $6, board = $7, camera = $8 WHERE site = $1 AND device = $2",
                                    {who.site, who.device, state, now, boot, text_of(payload, "firmware"),
                                     text_of(payload, "board"), text_of(payload, "camera")})
                        : db_.query("UPDATE devices SET state = $3, state_reason = $4, state_at = $5 "
                                    "WHERE site = $1 AND device = $2",
                                    {who.site, who.device, state, reason, now});
  if (!updated) return error_of<bool>(updated);
  std::string detail = online ? "boot " + boot : reason;
  if (restarted) detail += " (restarted: boot id was " + old_boot + ")";
  if (auto ok = run(db_, "INSERT INTO status_history (site, device, at, state, detail) VALUES ($1, $2, $3, $4, $5)",
                    {who.site, who.device, now, state, detail});
      !ok) {
    return std::unexpected(ok.error());
  }
  return restarted;
}

Result<bool> Store::heartbeat(const DeviceKey& who, const std::string& text, std::int64_t received_ms) {
  const std::string now = now_text();
  if (auto ok = ensure_device(who, now); !ok) return std::unexpected(ok.error());
  auto stored = db_.query("UPDATE devices SET last_heartbeat = $3, last_heartbeat_ms = $4, heartbeat = $5, "
                          "heartbeat_stored_ms = $4 WHERE site = $1 AND device = $2 AND heartbeat_stored_ms + 60000 <= $4 "
                          "RETURNING 1",
                          {who.site, who.device, now, received_ms, text});
  if (!stored) return error_of<bool>(stored);
  if (!stored->empty()) {
    if (auto ok = run(db_, "INSERT INTO heartbeats (site, device, at, payload) VALUES ($1, $2, $3, $4)",
                      {who.site, who.device, now, text});
        !ok) {
      return std::unexpected(ok.error());
    }
  } else if (auto ok = run(db_, "UPDATE devices SET last_heartbeat = $3, last_heartbeat_ms = $4, heartbeat = $5 "
                                "WHERE site = $1 AND device = $2",
                           {who.site, who.device, now, received_ms, text});
             !ok) {
    return std::unexpected(ok.error());
  }
  auto restored = db_.query("UPDATE devices SET supervision = 'ok' WHERE site = $1 AND device = $2 AND "
                            "supervision = 'missed' RETURNING 1",
                            {who.site, who.device});
  if (!restored) return error_of<bool>(restored);
  return !restored->empty();
}

Result<std::optional<std::int64_t>> Store::add_event(const NewEvent& e) {
  if (auto ok = ensure_device({e.site, e.device}, now_text()); !ok) return std::unexpected(ok.error());
  const Priority p = priority_of(e.type, e.severity);
  auto r = db_.query(
      "INSERT INTO events (site, device, event_id, seq, type, severity, priority, time, received, received_ms, verified, "
      "zone, source, clip, payload, snapshot_expected, queue) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
      "$13, $14, $15, $16, $17) ON CONFLICT (site, device, event_id) DO NOTHING RETURNING id",
      {e.site, e.device, column_text(e.event_id), static_cast<std::int64_t>(std::min<std::uint64_t>(e.seq, INT64_MAX)),
       column_text(e.type), column_text(e.severity), static_cast<std::int64_t>(p), e.time, now_text(), e.received_ms,
       std::int64_t{e.verified}, column_text(e.zone), column_text(e.source), column_text(e.clip), e.payload, std::int64_t{e.snapshot_expected ? 1 : 0}, std::string(queued(p) ? "open" : "none")});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{r->number(0, 0)};
}

Result<void> Store::snapshot_kept(const DeviceKey& who, const std::string& event_id, const std::string& file) {
  return run(db_, "UPDATE events SET snapshot_file = $4 WHERE site = $1 AND device = $2 AND event_id = $3",
             {who.site, who.device, event_id, file});
}

Result<void> Store::clip_kept(const DeviceKey& who, const std::string& clip, const std::string& file,
                              const std::string& manifest_file, const std::string& message) {
  return run(db_, "INSERT INTO clips (site, device, clip, file, manifest_file, received, message) VALUES "
                  "($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site, device, clip) DO NOTHING",
             {who.site, who.device, clip, file, manifest_file, now_text(), message});
}

Result<void> Store::gap(const DeviceKey& who, const std::string& clip, const std::string& message) {
  return run(db_, "INSERT INTO gaps (site, device, at, clip, message) VALUES ($1, $2, $3, $4, $5)",
             {who.site, who.device, now_text(), clip, message});
}

Result<void> Store::rejection(const DeviceKey& who, const std::string& clip, const std::string& message) {
  return run(db_, "INSERT INTO rejections (site, device, at, clip, message) VALUES ($1, $2, $3, $4, $5)",
             {who.site, who.device, now_text(), clip, message});
}

Result<void> Store::add_part(const Part& p) {
  return run(db_, "INSERT INTO parts (site, device, clip, topic, payload, received) VALUES ($1, $2, $3, $4, $5, $6)",
             {p.site, p.device, p.clip, p.topic, p.payload, now_text()});
}

Result<void> Store::drop_parts(const DeviceKey& who, const std::string& closes) {
  return run(db_, "DELETE FROM parts WHERE site = $1 AND device = $2 AND clip = $3", {who.site, who.device, closes});
}

Result<std::vector<Part>> Store::parts() {
  auto r = db_.query("SELECT id, site, device, clip, topic, payload FROM parts ORDER BY id");
  if (!r) return std::unexpected(r.error());
  std::vector<Part> out;
  for (std::size_t i = 0; i < r->size(); ++i) {
    out.push_back({r->number(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->text(i, 4), r->text(i, 5)});
  }
  return out;
}

Result<std::vector<Store::Awaiting>> Store::awaiting_snapshots(std::int64_t after_id, std::int64_t since_ms) {
  auto r = db_.query("SELECT id, site, device, payload FROM events WHERE id > $1 AND received_ms >= $2 AND "
                     "snapshot_expected = 1 AND snapshot_file IS NULL AND verified = 1 ORDER BY id LIMIT 1000",
                     {after_id, since_ms});
  if (!r) return std::unexpected(r.error());
  std::vector<Awaiting> out;
  for (std::size_t i = 0; i < r->size(); ++i) out.push_back({r->number(i, 0), {r->text(i, 1), r->text(i, 2)}, r->text(i, 3)});
  return out;
}

Result<std::vector<DeviceKey>> Store::newly_missed(std::int64_t now) {
  auto r = db_.query("UPDATE devices SET supervision = 'missed' WHERE supervision = 'ok' AND last_heartbeat_ms IS NOT NULL "
                     "AND last_heartbeat_ms + supervision_s * 1000 < $1 AND CAST($2 AS BIGINT) + supervision_s * 1000 < $1 RETURNING site, device",
                     {now, started_ms_});
  if (!r) return std::unexpected(r.error());
  std::vector<DeviceKey> out;
  for (std::size_t i = 0; i < r->size(); ++i) out.push_back({r->text(i, 0), r->text(i, 1)});
  return out;
}

// ---- the console --------------------------------------------------------------------------------

Result<json> Store::queue(std::size_t limit) {
  auto r = db_.query(std::string("SELECT ") + kEventColumns +
                         " FROM events e WHERE queue IN ('open', 'acked') ORDER BY CASE queue WHEN 'open' THEN 0 ELSE 1 END, "
                         "priority, received_ms LIMIT $1",
                     {static_cast<std::int64_t>(limit)});
  if (!r) return std::unexpected(r.error());
  json out = json::array();
  for (std::size_t i = 0; i < r->size(); ++i) out.push_back(event_json(*r, i));
  return out;
}

Result<json> Store::recent(std::size_t limit) {
  auto r = db_.query(std::string("SELECT ") + kEventColumns + " FROM events e ORDER BY e.received_ms DESC, e.id DESC LIMIT $1",
                     {static_cast<std::int64_t>(limit)});
  if (!r) return std::unexpected(r.error());
  json out = json::array();
  for (std::size_t i = 0; i < r->size(); ++i) out.push_back(event_json(*r, i));
  return out;
}

Result<json> Store::devices(const DeviceKey* only) {
  const std::string columns = "SELECT site, device, state, state_reason, state_at, boot_id, firmware, board, camera, "
                              "last_heartbeat, heartbeat, supervision, supervision_s, first_seen FROM devices ";
  auto r = only ? db_.query(columns + "WHERE site = $1 AND device = $2", {only->site, only->device})
                : db_.query(columns + "ORDER BY site, device");
  if (!r) return std::unexpected(r.error());
  json out = json::array();
  for (std::size_t i = 0; i < r->size(); ++i) {
    out.push_back({{"site", r->text(i, 0)}, {"device", r->text(i, 1)}, {"state", r->text(i, 2)},
                   {"state_reason", r->text(i, 3)}, {"state_at", r->text(i, 4)}, {"boot_id", r->text(i, 5)},
                   {"firmware", r->text(i, 6)}, {"board", r->text(i, 7)}, {"camera", r->text(i, 8)},
                   {"last_heartbeat", r->text(i, 9)}, {"heartbeat", stored_json(r->text(i, 10))},
                   {"supervision", r->text(i, 11)}, {"supervision_s", r->number(i, 12)}, {"first_seen", r->text(i, 13)}});
  }
  return out;
}

Result<json> Store::device(const DeviceKey& who) {
  auto one = devices(&who);
  if (!one) return one;
  if (one->empty()) return json(nullptr);
  json found = std::move((*one)[0]);
  auto history = db_.query("SELECT at, state, detail FROM status_history WHERE site = $1 AND device = $2 "
                           "ORDER BY id DESC LIMIT 100",
                           {who.site, who.device});
  auto events = db_.query(std::string("SELECT ") + kEventColumns +
                              " FROM events e WHERE site = $1 AND device = $2 ORDER BY e.received_ms DESC, e.id DESC LIMIT 100",
                          {who.site, who.device});
  auto clips = db_.query("SELECT clip, received, message FROM clips WHERE site = $1 AND device = $2 ORDER BY received DESC "
                         "LIMIT 50",
                         {who.site, who.device});
  auto gaps = db_.query("SELECT at, clip, message FROM gaps WHERE site = $1 AND device = $2 ORDER BY id DESC LIMIT 50",
                        {who.site, who.device});
  if (!history) return std::unexpected(history.error());
  if (!events) return std::unexpected(events.error());
  if (!clips) return std::unexpected(clips.error());
  if (!gaps) return std::unexpected(gaps.error());
  found["history"] = json::array();
  for (std::size_t i = 0; i < history->size(); ++i) {
    found["history"].push_back({{"at", history->text(i, 0)}, {"state", history->text(i, 1)}, {"detail", history->text(i, 2)}});
  }
  found["events"] = json::array();
  for (std::size_t i = 0; i < events->size(); ++i) found["events"].push_back(event_json(*events, i));
  found["clips"] = json::array();
  for (std::size_t i = 0; i < clips->size(); ++i) {
    found["clips"].push_back({{"clip", clips->text(i, 0)}, {"received", clips->text(i, 1)}, {"message", clips->text(i, 2)}});
  }
  found["gaps"] = json::array();
  for (std::size_t i = 0; i < gaps->size(); ++i) {
    found["gaps"].push_back({{"at", gaps->text(i, 0)}, {"clip", gaps->text(i, 1)}, {"message", gaps->text(i, 2)}});
  }
  return found;
}

Result<json> Store::event(std::int64_t id) {
  auto r = db_.query(std::string("SELECT ") + kEventColumns + " FROM events e WHERE id = $1", {id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return json(nullptr);
  json e = event_json(*r, 0);
  e["snapshot_file"] = r->text(0, 16);
  return e;
}

Result<bool> Store::acknowledge(std::int64_t id, const std::string& who, const std::string& note) {
  auto r = db_.query("UPDATE events SET queue = 'acked', acked_by = $2, acked_at = $3, note = $4 WHERE id = $1 AND "
                     "queue = 'open' RETURNING 1",
                     {id, who, now_text(), note});
  if (!r) return std::unexpected(r.error());
  return !r->empty();
}

Result<bool> Store::close(std::int64_t id, const std::string& who, const std::string& outcome) {
  auto r = db_.query("UPDATE events SET queue = 'closed', closed_by = $2, closed_at = $3, outcome = $4 WHERE id = $1 AND "
                     "queue = 'acked' RETURNING 1",
                     {id, who, now_text(), outcome});
  if (!r) return std::unexpected(r.error());
  return !r->empty();
}

Result<void> Store::audit(const std::string& actor, const std::string& action, const std::string& target,
                          const std::string& detail) {
  return run(db_, "INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
             {now_text(), actor, action, target, detail});
}

Result<json> Store::audit_log(std::size_t limit) {
  auto r = db_.query("SELECT at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT $1",
                     {static_cast<std::int64_t>(limit)});
  if (!r) return std::unexpected(r.error());
  json out = json::array();
  for (std::size_t i = 0; i < r->size(); ++i) {
    out.push_back({{"at", r->text(i, 0)}, {"actor", r->text(i, 1)}, {"action", r->text(i, 2)}, {"target", r->text(i, 3)},
                   {"detail", r->text(i, 4)}});
  }
  return out;
}

Result<json> Store::clip(const DeviceKey& who, const std::string& clip) {
  auto r = db_.query("SELECT file, manifest_file, received, message FROM clips WHERE site = $1 AND device = $2 AND clip = $3",
                     {who.site, who.device, clip});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return json(nullptr);
  return json{{"site", who.site}, {"device", who.device}, {"clip", clip}, {"file", r->text(0, 0)},
              {"manifest_file", r->text(0, 1)}, {"received", r->text(0, 2)}, {"message", r->text(0, 3)}};
}

}  // namespace assure::control_room
