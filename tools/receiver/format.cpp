#include "format.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <type_traits>

#include "assure/firmware/uplink/json_input.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/topics.hpp"

namespace assure::receiver {
namespace {

using nlohmann::json;

std::string printable(std::string_view bytes, std::size_t limit = 120) {
  std::string out;
  for (char c : bytes.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (bytes.size() > limit) out += fmt::format("... ({} bytes)", bytes.size());
  return out;
}

// The payload as JSON, or discarded (not JSON, or past the bounds on size and depth).
json read_payload(std::string_view payload) {
  auto parsed = uplink::parse_json(payload, "payload", {.max_bytes = 1u << 20, .max_depth = 32, .max_string = 64u << 10});
  return parsed ? std::move(*parsed) : json(json::value_t::discarded);
}

// A field of the type asked for, or the fallback. Whole numbers only from JSON integers of that
// sign: nlohmann converts 4e47 to an integer by a cast whose result is undefined (found by
// fuzz_receiver in a heartbeat).
template <class T>
T field(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (std::is_unsigned_v<T> ? !it->is_number_unsigned() : !it->is_number_integer()) return fallback;
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

std::string describe_status(const json& p) {
  const auto state = field<std::string>(p, "state", "?");
  if (state == "online") {
    return fmt::format("ONLINE   firmware {}  board {}  camera {}  boot {}", field<std::string>(p, "firmware", "?"),
                       field<std::string>(p, "board", "?"), field<std::string>(p, "camera", "?"),
                       field<std::string>(p, "boot_id", "?"));
  }
  if (state == "offline") return fmt::format("OFFLINE  ({})", field<std::string>(p, "reason", "no reason given"));
  return fmt::format("status '{}'", state);
}

std::string describe_heartbeat(const json& p) {
  std::string text = fmt::format(
      "up {} s  frames {} ({:.1f} fps)  video {}  losses {}  input edges {}  motion {}  clips {}",
      field<std::int64_t>(p, "uptime_s", -1), field<std::uint64_t>(p, "frames", 0), field<double>(p, "fps", 0.0),
      field<std::string>(p, "video", "?"), field<std::uint64_t>(p, "video_losses", 0),
      field<std::uint64_t>(p, "input_edges", 0), field<std::uint64_t>(p, "motion_events", 0),
      field<std::uint64_t>(p, "clips", 0));
  if (const auto failures = field<std::uint64_t>(p, "clip_failures", 0); failures > 0) {
    text += fmt::format(" ({} FAILED)", failures);
  }
  if (const auto last = field<std::string>(p, "last_clip", ""); !last.empty()) text += "  last clip " + last;
  if (const auto storage = field<std::string>(p, "storage", "ok"); storage != "ok") text += "  !!! STORAGE " + storage;
  if (const auto refused = field<std::uint64_t>(p, "publishes_refused", 0); refused > 0) {
    text += fmt::format("  !!! {} publish(es) REFUSED by the broker", refused);
  }
  if (const auto held = field<std::uint64_t>(p, "outbox_in_memory", 0); held > 0) {
    text += fmt::format("  ({} message(s) held in memory only)", held);
  }
  return text;
}

std::string describe_event(const json& p) {
  std::string text = fmt::format("#{} {} {} from {}", field<std::uint64_t>(p, "seq", 0),
                                 field<std::string>(p, "severity", "?") == "info" ? "" : "[" + field<std::string>(p, "severity", "?") + "]",
                                 field<std::string>(p, "type", "?"), field<std::string>(p, "source", "?"));
  if (const auto zone = field<std::string>(p, "zone", ""); !zone.empty()) text += " zone " + zone;
  if (const auto clip = field<std::string>(p, "clip", ""); !clip.empty()) text += " clip " + clip;
  if (field<bool>(p, "snapshot", false)) text += " (snapshot follows)";
  if (p.contains("details")) text += "  " + printable(uplink::dump_json(p["details"]), 160);
  return text + "  id " + field<std::string>(p, "id", "?");
}

}  // namespace

std::string human_line(std::string_view prefix, const Arrival& a) {
  const std::string when = uplink::utc_iso8601(a.received).substr(11, 12);
  const auto parsed = uplink::parse_topic(prefix, a.topic);
  const std::string retained = a.retained ? "  (retained)" : "";
  if (!parsed) return fmt::format("{}  {}  (not an assure topic)  {}", when, a.topic, printable(a.payload));
  const std::string who = parsed->site + "/" + parsed->device;
  const std::string kind = parsed->rest.empty() ? parsed->kind : parsed->kind + "/" + parsed->rest;
  json payload = read_payload(a.payload);
  if (payload.is_discarded() || !payload.is_object()) {
    return fmt::format("{}  {:<24} {:<10} UNREADABLE payload: {}{}", when, who, kind, printable(a.payload), retained);
  }
  std::string text;
  if (parsed->kind == "status") text = describe_status(payload);
  else if (parsed->kind == "heartbeat") text = describe_heartbeat(payload);
  else if (parsed->kind == "event") text = describe_event(payload);
  else text = printable(uplink::dump_json(payload), 200);
  const std::string unverified = a.verified == false ? "  (UNVERIFIED: no key is enrolled for this device)" : "";
  return fmt::format("{}  {:<24} {:<10} {}{}{}", when, who, kind, text, retained, unverified);
}

std::string json_line(std::string_view prefix, const Arrival& a) {
  json out{{"received", uplink::utc_iso8601(a.received)}, {"topic", a.topic}, {"retained", a.retained}};
  if (const auto parsed = uplink::parse_topic(prefix, a.topic)) {
    out["site"] = parsed->site;
    out["device"] = parsed->device;
    out["kind"] = parsed->kind;
    if (!parsed->rest.empty()) out["rest"] = parsed->rest;
  }
  json payload = read_payload(a.payload);
  if (payload.is_discarded()) {
    out["payload"] = nullptr;
    out["error"] = "payload is not JSON";
    out["raw"] = printable(a.payload, 4096);
  } else {
    out["payload"] = std::move(payload);
  }
  if (a.verified) out["verified"] = *a.verified;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace assure::receiver
