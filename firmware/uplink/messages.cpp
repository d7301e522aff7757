#include "assure/firmware/uplink/messages.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "assure/firmware/uplink/json_input.hpp"

namespace assure::uplink {

std::string online_payload(const Online& online) {
  return nlohmann::json{{"state", "online"},
                        {"firmware", online.firmware},
                        {"boot_id", online.boot_id},
                        {"board", online.board},
                        {"camera", online.camera},
                        {"since", utc_iso8601(online.since)}}
      .dump();
}

std::string offline_payload(std::string_view reason) {
  return nlohmann::json{{"state", "offline"}, {"reason", reason}}.dump();
}

std::string heartbeat_payload(const Heartbeat& h) {
  nlohmann::json j{{"time", utc_iso8601(h.time)},
                        {"uptime_s", h.uptime.count()},
                        {"frames", h.frames},
                        {"fps", std::round(h.fps * 10) / 10},
                        {"video", h.video},
                        {"video_losses", h.video_losses},
                        {"input_edges", h.input_edges},
                        {"motion_events", h.motion_events},
                        {"tamper", h.tamper.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.tamper)},
                        {"clips", h.clips},
                        {"clip_failures", h.clip_failures},
                        {"last_clip", h.last_clip},
                        {"outbox_pending", h.outbox_pending},
                        {"outbox_bytes", h.outbox_bytes},
                        {"outbox_in_memory", h.outbox_in_memory},
                        {"publishes_refused", h.publishes_refused},
                        {"storage", h.storage_error.empty() ? "ok" : "FAILED: " + h.storage_error},
                        {"storage_free_mb", h.storage_free_mb},
                        {"boot_id", h.boot_id}};
  j["temperature_c"] = h.temperature_c ? nlohmann::json(std::round(*h.temperature_c * 10) / 10) : nlohmann::json(nullptr);
  return j.dump();
}

std::string event_id(std::string_view device, std::string_view epoch, std::uint64_t seq) {
  return fmt::format("{}-{}-{}", device, epoch, seq);
}

Event make_event(EventType type, std::string source, Severity severity, std::chrono::system_clock::time_point time) {
  Event e;
  e.type = type;
  e.source = std::move(source);
  e.severity = severity;
  e.time = time;
  return e;
}

std::string event_payload(const Event& e) { return dump_json(event_object(e)); }

nlohmann::json event_object(const Event& e) {
  nlohmann::json j{{"id", e.id},
                   {"seq", e.seq},
                   {"type", std::string(to_string(e.type))},
                   {"source", e.source},
                   {"severity", std::string(to_string(e.severity))},
                   {"time", utc_iso8601(e.time)},
                   {"snapshot", e.snapshot}};
  j["zone"] = e.zone.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.zone);
  j["clip"] = e.clip.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.clip);
  if (!e.snapshot_sha256.empty()) j["snapshot_sha256"] = e.snapshot_sha256;
  if (!e.details.empty()) j["details"] = e.details;
  return j;
}

std::optional<ReceivedEvent> parse_event(std::string_view payload, std::string* why, nlohmann::json* object) {
  auto say = [&](std::string text) {
    if (why != nullptr) *why = std::move(text);
    return std::nullopt;
  };
  auto parsed = parse_json(payload, "event", kEventBounds);
  if (!parsed) return say(parsed.error().message);
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return say("not a JSON object");
  ReceivedEvent e;
  for (const char* key : {"id", "type", "source", "severity", "time"}) {
    if (!j.contains(key) || !j[key].is_string()) return say(fmt::format("\"{}\" missing or not a string", key));
  }
  if (!j.contains("seq") || !j["seq"].is_number_unsigned()) return say("\"seq\" missing or not a whole number");
  e.id = j["id"];
  e.seq = j["seq"];
  e.type = j["type"];
  e.source = j["source"];
  e.severity = j["severity"];
  if (j.contains("zone") && j["zone"].is_string()) e.zone = j["zone"];
  if (j.contains("clip") && j["clip"].is_string()) e.clip = j["clip"];
  if (j.contains("snapshot") && j["snapshot"].is_boolean()) e.snapshot = j["snapshot"];
  if (j.contains("snapshot_sha256") && j["snapshot_sha256"].is_string()) e.snapshot_sha256 = j["snapshot_sha256"];
  if (j.contains("details")) e.details = j["details"];
  auto time = parse_utc_iso8601(j["time"].get<std::string>());
  if (!time) return say("\"time\" is not a UTC time like 2026-11-23T01:02:03.456Z");
  e.time = *time;
  if (object != nullptr) *object = std::move(*parsed);
  return e;
}

}  // namespace assure::uplink
