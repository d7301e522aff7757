#include "evidence_desk.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "assure/base/files.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/json_input.hpp"
#include "assure/firmware/uplink/messages.hpp"

namespace assure::receiver {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kCopiesPerChunk = 3;
constexpr std::size_t kEarlySnapshots = 8;          // per device, waiting for their event
constexpr std::size_t kMaxSnapshotBytes = 4u << 20;  // a JPEG of the largest picture

std::string key_of(const std::string& site, const std::string& device, const std::string& clip = "") {
  return clip.empty() ? site + "/" + device : site + "/" + device + "/" + clip;
}

// Whole and on storage before anyone is told it is kept (the control room then lets go of the
// parts it was made of): a temporary file, synced, renamed, the folder synced.
void write_file(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  if (auto ok = base::write_durably(file, bytes); !ok) throw std::runtime_error(ok.error().message);
}

}  // namespace

bool EvidenceDesk::Recent::insert(const std::string& id, std::size_t cap) {
  if (!ids.insert(id).second) return false;
  order.push_back(id);
  while (order.size() > cap) {
    ids.erase(order.front());
    order.pop_front();
  }
  return true;
}

EvidenceDesk::EvidenceDesk(fs::path dir, std::map<std::string, std::string> keys, DeskLimits limits, Clock clock)
    : dir_(std::move(dir)), keys_(std::move(keys)), limits_(limits), clock_(std::move(clock)) {
  // The chain ends verified before a restart of the receiver.
  std::error_code ec;
  if (dir_.empty() || !fs::is_directory(dir_, ec)) return;
  for (const auto& site : fs::directory_iterator(dir_, ec)) {
    if (!site.is_directory() || site.path().filename() == "quarantine") continue;
    for (const auto& device : fs::directory_iterator(site.path(), ec)) {
      constexpr InputBounds kChainBounds{.max_bytes = 4000, .max_depth = 2, .max_string = 256};
      const auto text = base::read_bounded(device.path() / "chain.json", kChainBounds.max_bytes);
      const auto j = text ? uplink::parse_json(*text, "chain.json", kChainBounds) : std::unexpected(text.error());
      if (j && j->is_object() && (*j)["index"].is_number_unsigned() && (*j)["hash"].is_string()) {
        chains_[key_of(site.path().filename().string(), device.path().filename().string())] = {(*j)["index"],
                                                                                               (*j)["hash"]};
      }
    }
  }
}

const std::string* EvidenceDesk::key_for(const std::string& device) const {
  const auto it = keys_.find(device);
  return it == keys_.end() ? nullptr : &it->second;
}

EvidenceDesk::DeviceState* EvidenceDesk::state_for(const std::string& site, const std::string& device,
                                                   std::vector<DeskNotice>& notices) {
  const std::string key = key_of(site, device);
  if (auto it = devices_.find(key); it != devices_.end()) return &it->second;
  if (devices_.size() >= 4 * keys_.size() + 16) {
    notices.push_back({DeskNotice::Kind::rejected, site, device, "",
                       fmt::format("{} site/device pairs are tracked already, more than {} enrolled key(s) explain; "
                                   "ignored",
                                   devices_.size(), keys_.size()),
                       {}});
    return nullptr;
  }
  return &devices_[key];
}

// ---- events and snapshots -----------------------------------------------------------------------

EvidenceDesk::EventVerdict EvidenceDesk::event(const std::string& site, const std::string& device,
                                               const std::string& payload, std::vector<DeskNotice>& notices) {
  std::string why;
  nlohmann::json object;
  const auto e = uplink::parse_event(payload, &why, &object);
  if (!e) {
    notices.push_back({DeskNotice::Kind::rejected, site, device, "", "an event that cannot be read: " + why, {}});
    return EventVerdict::rejected;
  }
  const std::string* key = key_for(device);
  if (key == nullptr) return EventVerdict::unverified;  // shown as such; nothing about it is remembered
  if (!evidence::verify_signed_object(object, *key)) {
    notices.push_back({DeskNotice::Kind::rejected, site, device, "",
                       fmt::format("FORGED or damaged event {} ({} #{}): it is not signed by {}'s enrolled key; "
                                   "ignored",
                                   excerpt(e->id), excerpt(e->type), e->seq, device),
                       {}});
    return EventVerdict::rejected;
  }
  DeviceState* tracked = state_for(site, device, notices);
  if (tracked == nullptr) return EventVerdict::rejected;
  auto& state = *tracked;
  if (!state.events.insert(e->id, limits_.remembered_ids)) return EventVerdict::duplicate;
  if (state.last_seq != 0 && e->seq > state.last_seq + 1) {
    notices.push_back({DeskNotice::Kind::gap, site, device, "",
                       fmt::format("events {} to {} of {}/{} never arrived", state.last_seq + 1, e->seq - 1, site,
                                   device),
                       {}});
  }
  state.last_seq = std::max(state.last_seq, e->seq);
  if (e->snapshot && !e->snapshot_sha256.empty()) {
    state.snapshot_hashes[e->id] = e->snapshot_sha256;
    state.snapshot_order.push_back(e->id);
    while (state.snapshot_order.size() > limits_.remembered_ids) {
      state.snapshot_hashes.erase(state.snapshot_order.front());
      state.snapshots_kept.erase(state.snapshot_order.front());
      state.snapshot_order.pop_front();
    }
    if (auto early = state.early_snapshots.find(e->id); early != state.early_snapshots.end()) {
      const std::string bytes = std::move(early->second.first);
      state.pending_bytes -= bytes.size();
      total_pending_ -= bytes.size();
      state.early_snapshots.erase(early);
      for (auto& n : keep_snapshot(site, device, e->id, bytes)) notices.push_back(std::move(n));
    }
  }
  return EventVerdict::verified;
}

std::vector<DeskNotice> EvidenceDesk::snapshot(const std::string& site, const std::string& device,
                                               const std::string& event_id, const std::string& bytes) {
  const std::string shown = "snapshot of " + excerpt(event_id);
  if (!plain_name(site) || !plain_name(device) || !plain_name(event_id)) {
    return {{DeskNotice::Kind::rejected, excerpt(site), excerpt(device), "", shown + ": its topic is not plain names", {}}};
  }
  if (key_for(device) == nullptr) {
    return {{DeskNotice::Kind::rejected, site, device, "",
             fmt::format("{}: no key is enrolled for device {}: it cannot be verified", shown, device), {}}};
  }
  if (bytes.size() > kMaxSnapshotBytes) {
    return {{DeskNotice::Kind::rejected, site, device, "", fmt::format("{}: {} bytes is no snapshot", shown, bytes.size()), {}}};
  }
  std::vector<DeskNotice> notices;
  DeviceState* tracked = state_for(site, device, notices);
  if (tracked == nullptr) return notices;
  auto& state = *tracked;
  if (state.snapshot_hashes.contains(event_id)) return keep_snapshot(site, device, event_id, bytes);
  // Its event may still be on the way: held for a while, a few per device.
  expire(notices);
  if (state.early_snapshots.size() >= kEarlySnapshots || state.early_snapshots.contains(event_id)) {
    notices.push_back({DeskNotice::Kind::rejected, site, device, "",
                       shown + ": no signed event announced it (and enough others are waiting); dropped", {}});
    return notices;
  }
  make_room(site, device, bytes.size(), notices);
  state.early_snapshots[event_id] = {bytes, clock_()};
  state.pending_bytes += bytes.size();
  total_pending_ += bytes.size();
  return notices;
}

std::vector<DeskNotice> EvidenceDesk::keep_snapshot(const std::string& site, const std::string& device,
                                                    const std::string& event_id, const std::string& bytes) {
  auto& state = devices_[key_of(site, device)];
  const std::string shown = "snapshot of " + event_id;
  if (state.snapshots_kept.contains(event_id)) {
    return {{DeskNotice::Kind::duplicate, site, device, "", shown + " again", {}}};
  }
  if (evidence::sha256_hex(bytes) != state.snapshot_hashes[event_id]) {
    return {{DeskNotice::Kind::rejected, site, device, "",
             shown + ": its SHA-256 is not the one the signed event announced: forged or damaged; ignored", {}}};
  }
  state.snapshots_kept.insert(event_id);
  DeskNotice done{DeskNotice::Kind::verified, site, device, "", fmt::format("{}: {} bytes", shown, bytes.size()), {},
                  "snapshot/" + event_id};
  if (!dir_.empty()) {
    done.file = dir_ / site / device / "snapshots" / (event_id + ".jpg");
    write_file(done.file, bytes);
  }
  return {done};
}

// ---- clips --------------------------------------------------------------------------------------

std::vector<DeskNotice> EvidenceDesk::manifest(const std::string& site, const std::string& device,
                                               const std::string& clip, const std::string& payload) {
  if (!plain_name(site) || !plain_name(device) || !plain_name(clip)) {
    return {{DeskNotice::Kind::rejected, excerpt(site), excerpt(device), excerpt(clip),
             "a manifest whose topic is not plain names", {}}};
  }
  const std::string key = key_of(site, device, clip);
  std::vector<DeskNotice> notices;
  expire(notices);
  const std::string* enrolled = key_for(device);
  if (enrolled == nullptr) {
    if (!unenrolled_clips_.insert(key, limits_.remembered_ids)) return notices;  // said once per clip
    notices.push_back({DeskNotice::Kind::rejected, site, device, clip,
                       fmt::format("no key is enrolled for device {}: the clip cannot be verified", device), {}});
    return notices;
  }
  DeviceState* tracked = state_for(site, device, notices);
  if (tracked == nullptr) return notices;
  if (tracked->finished_clips.contains(clip)) return {{DeskNotice::Kind::duplicate, site, device, clip, "manifest again", {}}};
  auto verified = evidence::verify_manifest(payload, *enrolled);
  if (!verified) {
    // Reported, and forgotten: it takes no place the genuine manifest needs.
    notices.push_back({DeskNotice::Kind::rejected, site, device, clip,
                       "a manifest that does not verify was ignored: " + verified.error().message, {}});
    return notices;
  }
  const evidence::Manifest& m = verified->manifest;
  if (m.clip != clip || m.device != device || m.site != site) {
    notices.push_back(reject(site, device, clip,
                             fmt::format("the manifest is for {}/{}/{}, not the topic it came on", excerpt(m.site),
                                         excerpt(m.device), excerpt(m.clip)),
                             true));
    return notices;
  }
  if (m.chunks.size() > limits_.chunks_per_clip) {
    notices.push_back(reject(site, device, clip, fmt::format("a clip of {} chunks is more than is taken", m.chunks.size()), true));
    return notices;
  }
  auto& p = pending_[key];
  p.touched = clock_();
  if (p.manifest && *p.manifest != payload) {
    notices.push_back(reject(site, device, clip, "two different signed manifests arrived for the same clip", true));
    return notices;
  }
  p.manifest = payload;
  p.verified = std::move(*verified);
  keep_matching_chunks(*tracked, p);
  for (auto& n : try_finish(site, device, clip)) notices.push_back(std::move(n));
  return notices;
}

// Of the copies held before the manifest came, each chunk's one that matches it; the rest (forged,
// damaged, or past the clip's end) are let go.
void EvidenceDesk::keep_matching_chunks(DeviceState& state, Pending& p) {
  const auto& hashes = p.verified->manifest.chunks;
  for (auto it = p.chunks.begin(); it != p.chunks.end();) {
    auto& copies = it->second;
    std::int64_t before = 0;
    for (const auto& c : copies) before += static_cast<std::int64_t>(c.size());
    const auto good = it->first < hashes.size()
                          ? std::find_if(copies.begin(), copies.end(),
                                         [&](const std::string& c) { return evidence::sha256_hex(c) == hashes[it->first]; })
                          : copies.end();
    if (good == copies.end()) {
      hold(state, p, -before);
      it = p.chunks.erase(it);
      continue;
    }
    std::string kept = std::move(*good);
    hold(state, p, static_cast<std::int64_t>(kept.size()) - before);
    copies = {std::move(kept)};
    ++it;
  }
}

std::vector<DeskNotice> EvidenceDesk::chunk(const std::string& site, const std::string& device,
                                            const std::string& clip, const std::string& n, const std::string& bytes) {
  if (!plain_name(site) || !plain_name(device) || !plain_name(clip)) {
    return {{DeskNotice::Kind::rejected, excerpt(site), excerpt(device), excerpt(clip),
             "a chunk whose topic is not plain names", {}}};
  }
  const std::string key = key_of(site, device, clip);
  std::vector<DeskNotice> notices;
  expire(notices);
  if (key_for(device) == nullptr) {
    // Said once per clip, not once per chunk; nothing of it is held.
    if (!unenrolled_clips_.insert(key, limits_.remembered_ids)) return notices;
    notices.push_back({DeskNotice::Kind::rejected, site, device, clip,
                       fmt::format("no key is enrolled for device {}: the clip cannot be verified", device), {}});
    return notices;
  }
  DeviceState* tracked = state_for(site, device, notices);
  if (tracked == nullptr) return notices;
  auto& state = *tracked;
  if (state.finished_clips.contains(clip)) return {{DeskNotice::Kind::duplicate, site, device, clip, "chunk " + excerpt(n) + " again", {}}};
  std::size_t index = 0;
  if (n.empty() || n.size() > 9 || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (index = std::stoul(n)) >= limits_.chunks_per_clip) {
    notices.push_back({DeskNotice::Kind::rejected, site, device, clip, "a chunk numbered \"" + excerpt(n) + "\" is not a chunk", {}});
    return notices;
  }
  auto& p = pending_[key];
  p.touched = clock_();
  if (p.verified) {
    // Checked as it comes: a forged copy is turned away and the genuine one still has its place.
    const auto& m = p.verified->manifest;
    if (index >= m.chunks.size() || evidence::sha256_hex(bytes) != m.chunks[index]) {
      notices.push_back({DeskNotice::Kind::rejected, site, device, clip,
                         fmt::format("chunk {} is not the one the signed manifest names (forged or damaged); ignored", index),
                         {}});
      return notices;
    }
    if (p.chunks.contains(index)) return notices;  // a repeat
  }
  if (const auto held = p.chunks.find(index); held != p.chunks.end()) {
    const auto& copies = held->second;
    if (std::find(copies.begin(), copies.end(), bytes) != copies.end()) return notices;  // a repeat
    if (copies.size() >= kCopiesPerChunk) {
      notices.push_back({DeskNotice::Kind::rejected, site, device, clip,
                         fmt::format("a {}th different copy of chunk {} arrived before the manifest; ignored",
                                     copies.size() + 1, index),
                         {}});
      return notices;
    }
  }
  make_room(site, device, bytes.size(), notices);
  if (!pending_.contains(key)) return notices;  // (it was the one that gave way)
  p.chunks[index].push_back(bytes);  // (never an empty list: try_finish counts and joins them)
  hold(state, p, static_cast<std::int64_t>(bytes.size()));
  for (auto& notice : try_finish(site, device, clip)) notices.push_back(std::move(notice));
  return notices;
}

void EvidenceDesk::hold(DeviceState& state, Pending& pending, std::int64_t bytes) {
  pending.bytes = static_cast<std::uint64_t>(static_cast<std::int64_t>(pending.bytes) + bytes);
  state.pending_bytes = static_cast<std::uint64_t>(static_cast<std::int64_t>(state.pending_bytes) + bytes);
  total_pending_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(total_pending_) + bytes);
}

// Room for `bytes` more of this device's: its oldest incomplete clips without a verified
// manifest go first, then its oldest; then, over the total, anyone's oldest.
void EvidenceDesk::make_room(const std::string& site, const std::string& device, std::uint64_t bytes,
                             std::vector<DeskNotice>& notices) {
  const std::string prefix = key_of(site, device) + "/";
  auto& state = devices_[key_of(site, device)];
  auto victim = [&](bool this_device) -> std::string {
    std::string best;
    std::pair<bool, std::chrono::steady_clock::time_point> best_rank{};
    for (const auto& [key, p] : pending_) {
      if (this_device && !key.starts_with(prefix)) continue;
      const std::pair<bool, std::chrono::steady_clock::time_point> rank{p.manifest.has_value(), p.touched};
      if (best.empty() || rank < best_rank) best = key, best_rank = rank;
    }
    return best;
  };
  while (state.pending_bytes + bytes > limits_.device_pending_bytes) {
    const std::string key = victim(true);
    if (key.empty()) break;
    drop_pending(key, fmt::format("{}/{} holds more than {} MB of unfinished clips", site, device,
                                  limits_.device_pending_bytes >> 20),
                 notices);
  }
  while (total_pending_ + bytes > limits_.pending_bytes) {
    const std::string key = victim(false);
    if (key.empty()) break;
    drop_pending(key, fmt::format("the receiver holds more than {} MB of unfinished clips", limits_.pending_bytes >> 20),
                 notices);
  }
}

void EvidenceDesk::drop_pending(const std::string& key, const std::string& why, std::vector<DeskNotice>& notices) {
  const auto it = pending_.find(key);
  if (it == pending_.end()) return;
  const auto first = key.find('/'), second = key.find('/', first + 1);
  const std::string site = key.substr(0, first), device = key.substr(first + 1, second - first - 1),
                    clip = key.substr(second + 1);
  auto& state = devices_[key_of(site, device)];
  hold(state, it->second, -static_cast<std::int64_t>(it->second.bytes));
  notices.push_back({DeskNotice::Kind::rejected, site, device, clip,
                     fmt::format("DROPPED unfinished: {} ({} chunk(s), {}); a resend brings it back", why,
                                 it->second.chunks.size(), it->second.manifest ? "manifest verified" : "no manifest"),
                     {}, clip});
  pending_.erase(it);
}

void EvidenceDesk::expire(std::vector<DeskNotice>& notices) {
  const auto now = clock_();
  std::vector<std::string> stale;
  for (const auto& [key, p] : pending_) {
    if (now - p.touched > limits_.incomplete_after) stale.push_back(key);
  }
  for (const auto& key : stale) {
    drop_pending(key, fmt::format("nothing new for {} s", limits_.incomplete_after.count()), notices);
  }
  for (auto& [who, state] : devices_) {
    std::erase_if(state.early_snapshots, [&](auto& entry) {
      if (now - entry.second.second <= limits_.incomplete_after) return false;
      state.pending_bytes -= entry.second.first.size();
      total_pending_ -= entry.second.first.size();
      notices.push_back({DeskNotice::Kind::rejected, who.substr(0, who.find('/')), who.substr(who.find('/') + 1), "",
                         "snapshot of " + entry.first + ": its signed event never came; dropped", {},
                         "snapshot/" + entry.first});
      return true;
    });
  }
}

DeskNotice EvidenceDesk::reject(const std::string& site, const std::string& device, const std::string& clip,
                                const std::string& reason, bool quarantine) {
  const std::string key = key_of(site, device, clip);
  DeskNotice notice{DeskNotice::Kind::rejected, site, device, clip, reason, {}, clip};
  const auto it = pending_.find(key);
  if (quarantine && !dir_.empty() && it != pending_.end()) {
    const fs::path where = dir_ / "quarantine" / site / device;
    std::string bytes;
    for (const auto& [n, copies] : it->second.chunks) bytes += copies.front();
    write_file(where / (clip + ".mp4"), bytes);
    if (it->second.manifest) write_file(where / (clip + ".manifest.json"), *it->second.manifest);
    write_file(where / (clip + ".REJECTED.txt"), reason + "\n");
    notice.file = where / (clip + ".mp4");
  }
  auto& state = devices_[key_of(site, device)];
  state.finished_clips.insert(clip, limits_.remembered_ids);
  if (it != pending_.end()) {
    hold(state, it->second, -static_cast<std::int64_t>(it->second.bytes));
    pending_.erase(it);
  }
  return notice;
}

std::vector<DeskNotice> EvidenceDesk::try_finish(const std::string& site, const std::string& device,
                                                 const std::string& clip) {
  const std::string key = key_of(site, device, clip);
  Pending& p = pending_[key];
  if (!p.verified) return {};
  const evidence::VerifiedManifest* verified = &*p.verified;
  const evidence::Manifest& m = verified->manifest;
  // Every chunk held now matches the manifest (checked as it came, or pruned when the manifest did).
  if (p.chunks.size() < m.chunks.size()) return {};  // more to come
  std::string bytes;
  bytes.reserve(m.size);
  for (const auto& [n, copies] : p.chunks) bytes += copies.front();
  if (auto checked = evidence::verify_clip_whole(bytes, m); !checked) return {reject(site, device, clip, checked.error().message, true)};
  // A home kit's clip, sealed to the control room: what it opens to is checked against the manifest too.
  std::optional<OpenedClip> opened;
  if (!m.sealed_scheme.empty() && opener_) {
    auto open = open_sealed_clip(bytes, m, *opener_);
    if (!open) return {reject(site, device, clip, open.error().message, true)};
    opened = std::move(*open);
  }

  std::vector<DeskNotice> notices;
  auto& chain = chains_[key_of(site, device)];
  std::string chain_note;
  if (chain.index == 0) {
    chain_note = fmt::format("chain #{} (the first this receiver has seen)", m.index);
  } else if (m.index == chain.index + 1) {
    if (m.previous != chain.hash) {
      return {reject(site, device, clip,
                     fmt::format("broken chain: manifest #{} does not follow #{} (its previous hash differs)", m.index,
                                 chain.index),
                     true)};
    }
    chain_note = fmt::format("chain #{}", m.index);
  } else if (m.index > chain.index + 1) {
    notices.push_back({DeskNotice::Kind::gap, site, device, clip,
                       fmt::format("CHAIN GAP: clips #{} to #{} of {}/{} are missing (deleted, withheld or not yet sent)",
                                   chain.index + 1, m.index - 1, site, device),
                       {}});
    chain_note = fmt::format("chain #{} after a gap", m.index);
  } else {
    chain_note = fmt::format("chain #{}, older than #{} already seen (a resend)", m.index, chain.index);
  }
  if (m.index > chain.index) chain = {m.index, verified->hash};

  std::string sealed_note;
  if (opened) sealed_note = "; " + opened->note;
  else if (!m.sealed_scheme.empty()) sealed_note = "; sealed: kept unopened (the receiver has no control-room key: --command-key)";
  DeskNotice done{DeskNotice::Kind::verified, site, device, clip,
                  fmt::format("{} bytes, {} chunks, {} to {}, {}{}", m.size, m.chunks.size(), m.start_utc, m.end_utc,
                              chain_note, sealed_note),
                  {}};
  if (!dir_.empty()) {
    const fs::path where = dir_ / site / device;
    if (m.sealed_scheme.empty()) {
      write_file(where / (clip + ".mp4"), bytes);
    } else {
      write_file(where / (clip + ".mp4.sealed"), bytes);  // the signed original, as the device made it
      if (opened && opened->cut_short) {
        fs::create_directories(where);
        auto cut = write_opened_cut_clip(where / (clip + ".mp4"), opened->mp4);
        done.message += cut ? "; " + *cut : "; " + cut.error().message;
      } else if (opened) {
        write_file(where / (clip + ".mp4"), opened->mp4);
      }
    }
    write_file(where / (clip + ".manifest.json"), *p.manifest);
    write_file(where / "chain.json", nlohmann::json{{"index", chain.index}, {"hash", chain.hash}}.dump());
    done.file = where / (clip + (m.sealed_scheme.empty() || opened ? ".mp4" : ".mp4.sealed"));
  }
  auto& state = devices_[key_of(site, device)];
  state.finished_clips.insert(clip, limits_.remembered_ids);
  hold(state, p, -static_cast<std::int64_t>(p.bytes));
  done.closes = clip;
  notices.push_back(std::move(done));
  pending_.erase(key);  // (p and m go with it)
  return notices;
}

}  // namespace assure::receiver
