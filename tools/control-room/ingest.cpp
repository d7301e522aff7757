#include "ingest.hpp"

#include <sodium.h>

#include "assure/base/input_bounds.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/json_input.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/topics.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "migrations.hpp"
#include "priority.hpp"

namespace assure::control_room {
namespace {

using nlohmann::json;
using receiver::DeskNotice;

std::string base64(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // its NUL
  return out;
}

std::optional<std::string> unbase64(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

constexpr InputBounds kStatusBounds{.max_bytes = 16u << 10, .max_depth = 4, .max_string = 4096};

}  // namespace

std::string live_message(const Live& live) {
  return json{{"kind", live.kind}, {"data", live.data}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Ingest::Ingest(std::string prefix, Store& store, std::filesystem::path evidence_dir,
               std::map<std::string, std::string> keys, const evidence::SigningKey* command_key)
    : prefix_(std::move(prefix)),
      store_(store),
      evidence_dir_(std::move(evidence_dir)),
      keys_(std::move(keys)),
      command_key_(command_key),
      desk_(new_desk()) {}

// The control room's command key also opens the home kits' sealed clips (one key pair).
std::unique_ptr<receiver::EvidenceDesk> Ingest::new_desk() const {
  auto desk = std::make_unique<receiver::EvidenceDesk>(evidence_dir_, keys_);
  if (command_key_ != nullptr) desk->open_sealed_with(*command_key_);
  return desk;
}

Result<void> Ingest::message(const std::string& topic, const std::string& payload, Outcome& out) {
  const auto parsed = uplink::parse_topic(prefix_, topic);
  if (!parsed) return {};  // not the fleet's: nothing of ours
  if (!plain_name(parsed->site) || !plain_name(parsed->device)) {
    return store_.rejection({excerpt(parsed->site), excerpt(parsed->device)}, "",
                            "a message on a topic whose site or device is not a plain name: " + excerpt(topic, 200));
  }
  const DeviceKey who{parsed->site, parsed->device};
  if (parsed->kind == "clip" || parsed->kind == "snapshot") {
    // Kept until it makes a whole clip or picture: only what the desk could ever verify (a device
    // with an enrolled key, a plain name), so nobody can fill the table with what it refuses.
    const std::string name = parsed->kind == "snapshot" ? parsed->rest : parsed->rest.substr(0, parsed->rest.find('/'));
    if (!keys_.contains(who.device) || !plain_name(name)) {
      return evidence(who.site, who.device, parsed->kind, parsed->rest, payload, out);
    }
    if (auto ok = store_.add_part({0, who.site, who.device,
                                   parsed->kind == "snapshot" ? "snapshot/" + parsed->rest
                                                              : parsed->rest.substr(0, parsed->rest.find('/')),
                                   topic, base64(payload)});
        !ok) {
      return ok;
    }
    return evidence(who.site, who.device, parsed->kind, parsed->rest, payload, out);
  }
  if (parsed->kind == "event") return event(who.site, who.device, payload, out);
  if (parsed->kind == "reply") return reply(who, payload);
  if (parsed->kind != "status" && parsed->kind != "heartbeat") return {};  // commands (ours), unknown kinds
  auto j = uplink::parse_json(payload, parsed->kind, kStatusBounds);
  if (!j || !j->is_object()) {
    return store_.rejection(who, "", "an unreadable " + parsed->kind + ": " + (j ? "not an object" : j.error().message));
  }
  if (parsed->kind == "status") {
    auto restarted = store_.status(who, *j);
    if (!restarted) return std::unexpected(restarted.error());
    if (*restarted) {
      if (auto ok = raise(who, "device_restarted", "warning",
                          {{"boot_id", (*j).value("boot_id", "")}, {"why", "a new boot id after no clean stop"}}, out);
          !ok) {
        return ok;
      }
    }
  } else {
    auto restored = store_.heartbeat(who, uplink::dump_json(*j), now_ms());
    if (!restored) return std::unexpected(restored.error());
    if (*restored) {
      if (auto ok = raise(who, "supervision_restored", "info", {{"why", "heartbeats again"}}, out); !ok) return ok;
    }
  }
  return device_changed(who, out);
}

Result<void> Ingest::event(const std::string& site, const std::string& device, const std::string& payload, Outcome& out) {
  std::vector<DeskNotice> found;
  using Verdict = receiver::EvidenceDesk::EventVerdict;
  const Verdict verdict = desk_->event(site, device, payload, found);
  if (auto ok = notices(found, out, !events_shared_); !ok) return ok;
  if (verdict == Verdict::rejected) return {};  // (its rejection is among the notices)
  std::string why;
  const auto e = uplink::parse_event(payload, &why);
  if (!e) return store_.rejection({site, device}, "", "an event that cannot be read: " + why);
  NewEvent row{site, device, e->id, e->seq, e->type, e->severity, uplink::utc_iso8601(e->time), e->zone, e->source,
               e->clip, payload, verdict == Verdict::unverified ? 0 : 1, e->snapshot, now_ms()};
  auto inserted = store_.add_event(row);
  if (!inserted) return std::unexpected(inserted.error());
  if (*inserted) out.live.push_back({"event", event_json(row, **inserted)});
  if (command_key_ == nullptr || verdict == Verdict::unverified) return {};
  const auto now = std::chrono::system_clock::now();
  if (auto echo = receiver::answer_link_test(prefix_, site, device, payload, *command_key_, now)) {
    out.sends.push_back({echo->topic, echo->payload, "link test by " + excerpt(echo->who)});
  }
  if (*inserted && priority_of(e->type, e->severity) <= Priority::tamper && e->type != "snapshot") {
    out.sends.push_back({prefix_ + "/" + site + "/" + device + "/cmd/snapshot",
                         uplink::sign_command(*command_key_, "snapshot", site, device, now, uplink::new_nonce()),
                         "a snapshot for " + e->type + " " + e->id});
    return store_.audit("control-room", "command", site + "/" + device,
                        "snapshot, asked for at once for " + e->type + " " + e->id);
  }
  return {};
}

Result<void> Ingest::evidence(const std::string& site, const std::string& device, const std::string& kind,
                              const std::string& rest, const std::string& payload, Outcome& out) {
  std::vector<DeskNotice> found;
  if (kind == "snapshot") {
    found = desk_->snapshot(site, device, rest, payload);
  } else {
    const auto slash = rest.find('/');
    const std::string clip = rest.substr(0, slash);
    const std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (what == "manifest") found = desk_->manifest(site, device, clip, payload);
    else if (what.starts_with("chunk/")) found = desk_->chunk(site, device, clip, what.substr(6), payload);
    else found.push_back({DeskNotice::Kind::rejected, site, device, excerpt(clip), "an unknown clip topic", {}, excerpt(clip)});
  }
  return notices(found, out);
}

Result<void> Ingest::notices(const std::vector<DeskNotice>& found, Outcome& out, bool gaps) {
  for (const DeskNotice& n : found) {
    if (n.kind == DeskNotice::Kind::gap && n.clip.empty() && !gaps) continue;  // (numbering gaps; chain gaps stay)
    const DeviceKey who{n.site, n.device};
    Result<void> ok;
    switch (n.kind) {
      case DeskNotice::Kind::verified:
        if (n.closes.starts_with("snapshot/")) {
          ok = store_.snapshot_kept(who, n.closes.substr(9), n.file.string());
        } else {
          auto manifest = n.file;
          manifest.replace_extension(".manifest.json");
          ok = store_.clip_kept(who, n.clip, n.file.string(), manifest.string(), n.message);
        }
        break;
      case DeskNotice::Kind::rejected: ok = store_.rejection(who, n.clip, n.message); break;
      case DeskNotice::Kind::gap: ok = store_.gap(who, n.clip, n.message); break;
      default: break;
    }
    if (!ok) return ok;
    if (!n.closes.empty()) {
      if (auto dropped = store_.drop_parts(who, n.closes); !dropped) return dropped;
    }
    if (n.kind != DeskNotice::Kind::duplicate) {
      const char* kinds[] = {"verified", "rejected", "gap", "duplicate", "info"};
      out.live.push_back({"evidence", {{"site", n.site}, {"device", n.device}, {"clip", n.clip}, {"closes", n.closes},
                                       {"status", kinds[static_cast<int>(n.kind)]}, {"message", n.message}}});
    }
  }
  return {};
}

Result<void> Ingest::raise(const DeviceKey& who, const std::string& type, const std::string& severity,
                           const json& details, Outcome& out) {
  const auto now = std::chrono::system_clock::now();
  const std::string id = "control-room-" + type + "-" + std::to_string(now_ms());
  json payload{{"id", id}, {"type", type}, {"severity", severity}, {"source", "control-room"},
               {"time", uplink::utc_iso8601(now)}, {"details", details}};
  const NewEvent row{who.site, who.device, id, 0, type, severity, uplink::utc_iso8601(now), "",
                     "control-room", "", uplink::dump_json(payload), 2, false, now_ms()};
  auto inserted = store_.add_event(row);
  if (!inserted) return std::unexpected(inserted.error());
  if (*inserted) out.live.push_back({"event", event_json(row, **inserted)});
  return {};
}

Result<void> Ingest::device_changed(const DeviceKey& who, Outcome& out) {
  out.live.push_back({"device", {{"site", who.site}, {"device", who.device}}});
  return {};
}

Result<void> Ingest::reply(const DeviceKey& who, const std::string& payload) {
  auto j = uplink::parse_json(payload, "reply", uplink::kEventBounds);
  const auto key = keys_.find(who.device);
  const bool genuine = j && j->is_object() && key != keys_.end() && evidence::verify_signed_object(*j, key->second);
  if (!genuine) return store_.rejection(who, "", "a reply that is not signed by the device's enrolled key");
  return store_.audit(who.site + "/" + who.device, "reply", (*j).value("name", "?"),
                      excerpt(uplink::dump_json(*j), 2000));
}

Result<void> Ingest::refuse(const std::string& topic, const std::string& payload, const std::string& why) {
  const auto parsed = uplink::parse_topic(prefix_, topic);
  const DeviceKey who = parsed && plain_name(parsed->site) && plain_name(parsed->device)
                            ? DeviceKey{parsed->site, parsed->device}
                            : DeviceKey{"?", "?"};
  return store_.rejection(who, "", "a message on " + excerpt(topic, 200) + " could not be stored three times (" +
                                       excerpt(why, 300) + "); acknowledged so that it cannot hold up the rest; it began: " +
                                       excerpt(payload, 300));
}

Result<void> Ingest::supervise(std::int64_t now, Outcome& out) {
  auto missed = store_.newly_missed(now);
  if (!missed) return std::unexpected(missed.error());
  for (const auto& who : *missed) {
    if (auto ok = raise(who, "missed_supervision", "warning",
                        {{"why", "no heartbeat for longer than the supervision period"},
                         {"period_s", store_.supervision_s()}},
                        out);
        !ok) {
      return ok;
    }
    if (auto ok = device_changed(who, out); !ok) return ok;
  }
  return {};
}

Result<void> Ingest::adopt_events(Outcome& out) {
  auto waiting = store_.awaiting_snapshots(adopted_, now_ms() - 3600 * 1000);
  if (!waiting) return std::unexpected(waiting.error());
  for (const auto& w : *waiting) {
    adopted_ = w.id;
    std::vector<DeskNotice> found;
    desk_->event(w.who.site, w.who.device, w.payload, found);
    if (auto ok = notices(found, out, false); !ok) return ok;
  }
  return {};
}

Result<void> Ingest::replay(Outcome& out) {
  store_.forget_devices();
  desk_ = new_desk();
  adopted_ = 0;
  if (auto ok = adopt_events(out); !ok) return ok;
  auto parts = store_.parts();
  if (!parts) return std::unexpected(parts.error());
  for (const Part& p : *parts) {
    const auto parsed = uplink::parse_topic(prefix_, p.topic);
    const auto bytes = unbase64(p.payload);
    if (!parsed || !bytes) continue;
    if (auto ok = evidence(parsed->site, parsed->device, parsed->kind, parsed->rest, *bytes, out); !ok) return ok;
  }
  return {};
}

}  // namespace assure::control_room
