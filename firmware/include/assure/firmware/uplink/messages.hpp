#pragma once
// JSON payloads of the uplink, built and read in one place. See firmware/uplink/PROTOCOL.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/kinds.hpp"

namespace assure::uplink {

using assure::utc_iso8601;  // "2026-11-23T01:02:03.456Z"

struct Online {
  std::string firmware;
  std::string boot_id;
  std::string board;
  std::string camera;  // describes the video source
  std::chrono::system_clock::time_point since;
};
std::string online_payload(const Online& online);

// reason: "connection lost" (the will, published by the broker) or "shutdown" (said by the device)
std::string offline_payload(std::string_view reason);

struct Heartbeat {
  std::chrono::system_clock::time_point time;
  std::chrono::seconds uptime{0};
  std::uint64_t frames = 0;       // analysed since start
  double fps = 0;                 // over the last interval
  std::string video;              // "running", "lost" or "starting"
  std::uint64_t video_losses = 0; // outages since start
  std::uint64_t input_edges = 0;  // input changes since start
  std::uint64_t motion_events = 0;  // camera motion events raised since start
  std::string tamper;               // the camera tamper in progress (covered, defocused, moved); empty: none
  std::uint64_t clips = 0;          // evidence clips finished since start
  std::uint64_t clip_failures = 0;  // clips that could not be written whole
  std::string last_clip;            // path of the newest finished clip on the device; empty: none
  std::uint64_t outbox_pending = 0;  // messages stored and not yet acknowledged by the broker
  std::uint64_t outbox_bytes = 0;
  std::uint64_t outbox_in_memory = 0;  // of those, kept in memory only because storage failed
  std::uint64_t publishes_refused = 0;  // refused by the broker (an ACL) or failed since start; all sent again
  std::string storage_error;           // empty: the device's storage works
  std::int64_t storage_free_mb = -1;        // free space where the device keeps its state; -1: unknown
  std::optional<double> temperature_c;      // where the board has a sensor
  std::string boot_id;
};
std::string heartbeat_payload(const Heartbeat& heartbeat);

// An event: QoS 1, through the outbox. `id` is unique for ever (device, journal epoch, seq); `seq`
// counts the device's events across restarts, so the control room sees any gap.
struct Event {
  std::string id;
  std::uint64_t seq = 0;
  EventType type = EventType::input;
  std::string source;    // "camera:cam0", "input:panic", "uplink"
  std::string zone;      // may be empty
  Severity severity = Severity::info;
  std::chrono::system_clock::time_point time;
  std::string clip;         // the clip that holds it; empty: none
  bool snapshot = false;    // a JPEG follows on snapshot/<id>
  std::string snapshot_sha256;  // of that JPEG: the control room takes no other picture for it
  nlohmann::json details = nlohmann::json::object();
};
// An event of this type from this source, at this time; the outbox gives it its id and seq.
Event make_event(EventType type, std::string source, Severity severity, std::chrono::system_clock::time_point time);
std::string event_id(std::string_view device, std::string_view epoch, std::uint64_t seq);
// The event object; the device signs it (evidence::signed_object) before it is stored.
nlohmann::json event_object(const Event& event);
std::string event_payload(const Event& event);  // unsigned: for tests and tools
// Events are small; "details" holds a few names and numbers.
inline constexpr InputBounds kEventBounds{.max_bytes = 64u << 10, .max_depth = 8, .max_string = 8192};
// An event as a receiver reads it: a device with newer firmware may send types this build does not
// know, so type and severity stay the words they arrived as.
struct ReceivedEvent {
  std::string id;
  std::uint64_t seq = 0;
  std::string type, source, zone, severity;
  std::chrono::system_clock::time_point time;
  std::string clip;
  bool snapshot = false;
  std::string snapshot_sha256;
  nlohmann::json details = nlohmann::json::object();
};
// For receivers: the fields of an event payload, or what is wrong with it. `object`, when given,
// receives the parsed object (to check its signature).
std::optional<ReceivedEvent> parse_event(std::string_view payload, std::string* why = nullptr,
                                         nlohmann::json* object = nullptr);

}  // namespace assure::uplink
