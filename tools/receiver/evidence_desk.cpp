#include "evidence_desk.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "evidence/signing.hpp"

namespace assure::receiver {
namespace fs = std::filesystem;

namespace {

std::string key_of(const std::string& site, const std::string& device, const std::string& clip = "") {
  return clip.empty() ? site + "/" + device : site + "/" + device + "/" + clip;
}

bool safe_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

void write_file(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

EvidenceDesk::EvidenceDesk(fs::path dir, std::map<std::string, std::string> keys)
    : dir_(std::move(dir)), keys_(std::move(keys)) {
  // The chain ends verified before a restart of the receiver.
  if (dir_.empty() || !fs::exists(dir_)) return;
  for (const auto& site : fs::directory_iterator(dir_)) {
    if (!site.is_directory() || site.path().filename() == "quarantine") continue;
    for (const auto& device : fs::directory_iterator(site.path())) {
      std::ifstream in(device.path() / "chain.json");
      const auto j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_object() && j.contains("index") && j.contains("hash")) {
        chains_[key_of(site.path().filename().string(), device.path().filename().string())] = {j["index"], j["hash"]};
      }
    }
  }
}

bool EvidenceDesk::event(const std::string& site, const std::string& device, const std::string& id,
                         std::uint64_t seq, std::vector<DeskNotice>& notices) {
  if (!events_.insert(id).second) return false;
  auto& last = last_seq_[key_of(site, device)];
  if (last != 0 && seq > last + 1) {
    notices.push_back({DeskNotice::Kind::gap, site, device, "",
                       fmt::format("events {} to {} of {}/{} never arrived", last + 1, seq - 1, site, device), {}});
  }
  last = std::max(last, seq);
  return true;
}

std::vector<DeskNotice> EvidenceDesk::manifest(const std::string& site, const std::string& device,
                                               const std::string& clip, const std::string& payload) {
  const std::string key = key_of(site, device, clip);
  if (finished_.contains(key)) return {{DeskNotice::Kind::duplicate, site, device, clip, "manifest again", {}}};
  auto& p = pending_[key];
  if (p.manifest && *p.manifest != payload) {
    return {reject(site, device, clip, "two different manifests arrived for the same clip", p)};
  }
  p.manifest = payload;
  return try_finish(site, device, clip);
}

std::vector<DeskNotice> EvidenceDesk::chunk(const std::string& site, const std::string& device,
                                            const std::string& clip, const std::string& n, const std::string& bytes) {
  const std::string key = key_of(site, device, clip);
  if (finished_.contains(key)) return {{DeskNotice::Kind::duplicate, site, device, clip, "chunk " + n + " again", {}}};
  std::size_t index = 0;
  try {
    std::size_t used = 0;
    index = std::stoul(n, &used);
    if (used != n.size()) throw std::invalid_argument(n);
  } catch (const std::exception&) {
    return {{DeskNotice::Kind::rejected, site, device, clip, "a chunk numbered \"" + n + "\" is not a chunk", {}}};
  }
  pending_[key].chunks[index] = bytes;  // a repeat replaces an identical copy; a different one fails its hash
  return try_finish(site, device, clip);
}

DeskNotice EvidenceDesk::reject(const std::string& site, const std::string& device, const std::string& clip,
                                const std::string& reason, const Pending& pending) {
  const std::string key = key_of(site, device, clip);
  DeskNotice notice{DeskNotice::Kind::rejected, site, device, clip, reason, {}};
  if (!dir_.empty() && safe_name(site) && safe_name(device) && safe_name(clip)) {
    const fs::path where = dir_ / "quarantine" / site / device;
    std::string bytes;
    for (const auto& [n, chunk] : pending.chunks) bytes += chunk;
    write_file(where / (clip + ".mp4"), bytes);
    if (pending.manifest) write_file(where / (clip + ".manifest.json"), *pending.manifest);
    write_file(where / (clip + ".REJECTED.txt"), reason + "\n");
    notice.file = where / (clip + ".mp4");
  }
  finished_.insert(key);
  pending_.erase(key);
  return notice;
}

std::vector<DeskNotice> EvidenceDesk::try_finish(const std::string& site, const std::string& device,
                                                 const std::string& clip) {
  const std::string key = key_of(site, device, clip);
  Pending& p = pending_[key];
  if (!p.manifest) return {};
  const auto enrolled = keys_.find(device);
  if (enrolled == keys_.end()) {
    return {reject(site, device, clip, fmt::format("no key is enrolled for device {}: the clip cannot be verified", device), p)};
  }
  auto verified = evidence::verify_manifest(*p.manifest, enrolled->second);
  if (!verified) return {reject(site, device, clip, verified.error().message, p)};
  const evidence::Manifest& m = verified->manifest;
  if (m.clip != clip || m.device != device || m.site != site) {
    return {reject(site, device, clip,
                   fmt::format("the manifest is for {}/{}/{}, not the topic it came on", m.site, m.device, m.clip), p)};
  }
  if (p.chunks.size() < m.chunks.size()) return {};  // more to come
  std::string bytes;
  for (std::size_t n = 0; n < m.chunks.size(); ++n) {
    auto it = p.chunks.find(n);
    if (it == p.chunks.end()) return {};
    bytes += it->second;
  }
  if (p.chunks.size() > m.chunks.size()) {
    return {reject(site, device, clip, fmt::format("{} chunks arrived for a manifest of {}", p.chunks.size(), m.chunks.size()), p)};
  }
  if (auto checked = evidence::verify_clip_bytes(bytes, m); !checked) return {reject(site, device, clip, checked.error().message, p)};

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
                     p)};
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

  DeskNotice done{DeskNotice::Kind::verified, site, device, clip,
                  fmt::format("{} bytes, {} chunks, {} to {}, {}", m.size, m.chunks.size(), m.start_utc, m.end_utc,
                              chain_note),
                  {}};
  if (!dir_.empty() && safe_name(site) && safe_name(device) && safe_name(clip)) {
    const fs::path where = dir_ / site / device;
    write_file(where / (clip + ".mp4"), bytes);
    write_file(where / (clip + ".manifest.json"), *p.manifest);
    write_file(where / "chain.json", nlohmann::json{{"index", chain.index}, {"hash", chain.hash}}.dump());
    done.file = where / (clip + ".mp4");
  }
  finished_.insert(key);
  pending_.erase(key);
  notices.push_back(std::move(done));
  return notices;
}

}  // namespace assure::receiver
