#pragma once
// What the control room keeps, in SQL both engines take. Ingest calls run inside the caller's
// transaction (the batch that is acknowledged to the broker only after it commits); the console's
// reads and operator actions run on a connection of their own. Devices' names arrive from topics
// and are stored as given (they are bound parameters, never SQL); anything shown is escaped by
// the page.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "database.hpp"

namespace assure::control_room {

struct DeviceKey {
  std::string site, device;
};

struct NewEvent {
  std::string site, device, event_id;
  std::uint64_t seq = 0;
  std::string type, severity, time, zone, source, clip;
  std::string payload;  // the event as it arrived (verified JSON)
  int verified = 0;     // 1 signed by the device's key, 0 no key enrolled, 2 raised by the control room
  bool snapshot_expected = false;
  std::int64_t received_ms = 0;
};

struct Part {
  std::int64_t id = 0;
  std::string site, device, clip, topic, payload;  // payload: base64
};

class Store {
 public:
  explicit Store(Database& db, std::int64_t supervision_s = 180);
  Database& db() { return db_; }

  // ---- ingest (inside a transaction) ----
  // The device's status message. True when it came back with a new boot id after anything but a
  // clean stop: it restarted (a crash, a power cut, a watchdog).
  Result<bool> status(const DeviceKey& who, const nlohmann::json& payload);
  // A heartbeat; true when it ends a missed supervision (the restore).
  Result<bool> heartbeat(const DeviceKey& who, const std::string& text, std::int64_t received_ms);
  Result<std::optional<std::int64_t>> add_event(const NewEvent& e);  // the row id; nullopt: seen before
  Result<void> snapshot_kept(const DeviceKey& who, const std::string& event_id, const std::string& file);
  Result<void> clip_kept(const DeviceKey& who, const std::string& clip, const std::string& file,
                         const std::string& manifest_file, const std::string& message);
  Result<void> gap(const DeviceKey& who, const std::string& clip, const std::string& message);
  Result<void> rejection(const DeviceKey& who, const std::string& clip, const std::string& message);
  Result<void> add_part(const Part& part);
  Result<void> drop_parts(const DeviceKey& who, const std::string& closes);
  Result<std::vector<Part>> parts();
  // Events after row `after_id`, received since `since_ms`, whose announced snapshot is not kept
  // yet: (row id, site, device, payload), for the desk that holds evidence to learn their hashes.
  struct Awaiting {
    std::int64_t id;
    DeviceKey who;
    std::string payload;
  };
  Result<std::vector<Awaiting>> awaiting_snapshots(std::int64_t after_id, std::int64_t since_ms);
  // Devices whose heartbeats stopped for longer than their supervision period: marked missed
  // (once: with several instances, the one whose update wins raises it) and returned. A period
  // is counted from this store's start at the earliest: heartbeats sent while the service was
  // down were never queued for it (QoS 0), so the fleet is given one period to be heard again.
  Result<std::vector<DeviceKey>> newly_missed(std::int64_t now_ms);

  // ---- the console ----
  Result<nlohmann::json> queue(std::size_t limit = 200);
  Result<nlohmann::json> recent(std::size_t limit = 100);
  Result<nlohmann::json> devices(const DeviceKey* only = nullptr);  // all, or the one
  Result<nlohmann::json> device(const DeviceKey& who);  // with its history; null: unknown
  Result<nlohmann::json> event(std::int64_t id);        // null: none
  // An operator's acknowledgement (with a note) or closure (with an outcome): false when the
  // event is not in the state for it.
  Result<bool> acknowledge(std::int64_t id, const std::string& who, const std::string& note);
  Result<bool> close(std::int64_t id, const std::string& who, const std::string& outcome);
  Result<void> audit(const std::string& actor, const std::string& action, const std::string& target,
                     const std::string& detail);
  Result<nlohmann::json> audit_log(std::size_t limit = 200);
  Result<nlohmann::json> clip(const DeviceKey& who, const std::string& clip);  // null: not kept
  std::int64_t supervision_s() const { return supervision_s_; }
  void forget_devices() { known_devices_.clear(); }

 private:
  Result<void> ensure_device(const DeviceKey& who, const std::string& now);
  Database& db_;
  // Devices whose row exists: the insert is skipped. Forgotten by forget_devices() when a
  // transaction that may have made one did not commit.
  std::set<std::string> known_devices_;
  std::int64_t supervision_s_;
  std::int64_t started_ms_;
};

nlohmann::json event_json(const Rows& rows, std::size_t row);  // a row of the events' SELECT list
// The same for an event just stored as row `id` (no picture beside it yet), without a query.
nlohmann::json event_json(const NewEvent& e, std::int64_t id);

}  // namespace assure::control_room
