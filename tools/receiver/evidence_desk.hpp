#pragma once
// The control room's evidence desk: reassembles clips from chunks that may arrive out of order or
// twice, checks every chunk against the signed manifest, the manifest's signature against the
// device's enrolled key, and the chain from the device's previous manifest. Verified clips and
// their manifests are written under <dir>/<site>/<device>/; anything that fails is written under
// <dir>/quarantine/<site>/<device>/ with the reason, and reported loudly, never as good.
//
// Everything it is given is treated as hostile:
// - Events count only when signed by the device's enrolled key: duplicates are dropped and gaps
//   reported among those alone, so a forged event can neither take a real one's id nor its place
//   in the numbering. A forged event is reported as rejected; one from a device with no enrolled
//   key is shown as unverified and never deduplicated.
// - A snapshot is kept only when its SHA-256 matches the one its signed event announced; it is
//   never replaced once kept.
// - A manifest that does not verify is reported and forgotten: it never takes the clip's place,
//   so the genuine one still wins. Chunks are checked against a verified manifest as they come;
//   before it, up to three different copies of a chunk are held, so a forged copy cannot push out
//   the real one.
// - Site, device and clip names from topics become paths only when they are plain names
//   (assure::plain_name).
// - What is held is bounded, per device and in total; incomplete clips expire; every drop is
//   reported.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/firmware/evidence/signing.hpp"
#include "sealed_clips.hpp"

namespace assure::receiver {

struct DeskNotice {
  enum class Kind { verified, rejected, gap, duplicate, info };
  Kind kind = Kind::info;
  std::string site, device, clip;
  std::string message;
  std::filesystem::path file;  // where it was written (verified or quarantined)
  // What this notice finishes with, so a keeper of the parts may let them go: a clip id (verified,
  // quarantined or dropped) or "snapshot/<event id>" (kept or dropped); empty: nothing.
  std::string closes;
};

struct DeskLimits {
  std::uint64_t pending_bytes = 512ull << 20;        // clip data and snapshots held, all devices
  std::uint64_t device_pending_bytes = 128ull << 20;  // of one device
  std::size_t chunks_per_clip = 1u << 16;
  std::chrono::seconds incomplete_after{600};  // an unfinished clip with nothing new for this long
  std::size_t remembered_ids = 1u << 16;       // per device: event ids, finished clips, snapshot hashes
};

class EvidenceDesk {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // keys: device id -> hex Ed25519 public key (enrolment). dir empty: verify but write nothing.
  EvidenceDesk(std::filesystem::path dir, std::map<std::string, std::string> keys, DeskLimits limits = {},
               Clock clock = [] { return std::chrono::steady_clock::now(); });

  std::vector<DeskNotice> manifest(const std::string& site, const std::string& device, const std::string& clip,
                                   const std::string& payload);
  std::vector<DeskNotice> chunk(const std::string& site, const std::string& device, const std::string& clip,
                                const std::string& n, const std::string& bytes);
  std::vector<DeskNotice> snapshot(const std::string& site, const std::string& device, const std::string& event_id,
                                   const std::string& bytes);

  enum class EventVerdict { verified, unverified, duplicate, rejected };
  // A whole event payload: its signature, then duplicates (by id) and gaps in the numbering.
  EventVerdict event(const std::string& site, const std::string& device, const std::string& payload,
                     std::vector<DeskNotice>& notices);

  std::uint64_t pending_bytes() const { return total_pending_; }
  // The control room's key (its command key: one key pair), to open sealed clips with. Without
  // it a sealed clip is verified and kept as it came (<clip>.mp4.sealed), unopened.
  void open_sealed_with(evidence::SigningKey key) { opener_ = std::move(key); }

 private:
  struct Pending {
    std::optional<std::string> manifest;  // the signed payload, once it verified
    std::optional<evidence::VerifiedManifest> verified;
    std::map<std::size_t, std::vector<std::string>> chunks;  // candidates per index
    std::uint64_t bytes = 0;
    std::chrono::steady_clock::time_point touched;
  };
  // Ids kept for a while, the oldest forgotten first.
  struct Recent {
    std::set<std::string> ids;
    std::deque<std::string> order;
    bool insert(const std::string& id, std::size_t cap);
    bool contains(const std::string& id) const { return ids.contains(id); }
  };
  struct DeviceState {
    Recent events, finished_clips;
    std::map<std::string, std::string> snapshot_hashes;  // event id -> sha256, from signed events
    std::deque<std::string> snapshot_order;
    std::set<std::string> snapshots_kept;
    std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> early_snapshots;
    std::uint64_t last_seq = 0;
    std::uint64_t pending_bytes = 0;
  };

  std::vector<DeskNotice> try_finish(const std::string& site, const std::string& device, const std::string& clip);
  DeskNotice reject(const std::string& site, const std::string& device, const std::string& clip,
                    const std::string& reason, bool quarantine);
  const std::string* key_for(const std::string& device) const;
  // The state of an enrolled device; nullptr (with a notice) past a bound on how many site/device
  // pairs are tracked, so invented site names cannot grow it.
  DeviceState* state_for(const std::string& site, const std::string& device, std::vector<DeskNotice>& notices);
  void hold(DeviceState& state, Pending& pending, std::int64_t bytes);
  void keep_matching_chunks(DeviceState& state, Pending& pending);
  void make_room(const std::string& site, const std::string& device, std::uint64_t bytes,
                 std::vector<DeskNotice>& notices);
  void expire(std::vector<DeskNotice>& notices);
  void drop_pending(const std::string& key, const std::string& why, std::vector<DeskNotice>& notices);
  std::vector<DeskNotice> keep_snapshot(const std::string& site, const std::string& device, const std::string& event_id,
                                        const std::string& bytes);

  std::filesystem::path dir_;
  std::map<std::string, std::string> keys_;
  DeskLimits limits_;
  Clock clock_;
  std::map<std::string, Pending> pending_;  // by site/device/clip
  std::map<std::string, DeviceState> devices_;  // by site/device: enrolled devices only
  Recent unenrolled_clips_;  // clips of devices with no key, said once each
  struct ChainEnd {
    std::uint64_t index = 0;
    std::string hash;
  };
  std::map<std::string, ChainEnd> chains_;  // by site/device
  std::uint64_t total_pending_ = 0;
  std::optional<evidence::SigningKey> opener_;
};

}  // namespace assure::receiver
