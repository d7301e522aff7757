#pragma once
// The control room's evidence desk: reassembles clips from chunks that may arrive out of order or
// twice, checks every chunk against the signed manifest, the manifest's signature against the
// device's enrolled key, and the chain from the device's previous manifest. Verified clips and
// their manifests are written under <dir>/<site>/<device>/; anything that fails is written under
// <dir>/quarantine/<site>/<device>/ with the reason, and reported loudly, never as good.
// Events are checked for duplicates (removed by id) and for gaps in each device's numbering.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace assure::receiver {

struct DeskNotice {
  enum class Kind { verified, rejected, gap, duplicate, info };
  Kind kind = Kind::info;
  std::string site, device, clip;
  std::string message;
  std::filesystem::path file;  // where it was written (verified or quarantined)
};

class EvidenceDesk {
 public:
  // keys: device id -> hex Ed25519 public key (enrolment). dir empty: verify but write nothing.
  EvidenceDesk(std::filesystem::path dir, std::map<std::string, std::string> keys);

  std::vector<DeskNotice> manifest(const std::string& site, const std::string& device, const std::string& clip,
                                   const std::string& payload);
  std::vector<DeskNotice> chunk(const std::string& site, const std::string& device, const std::string& clip,
                                const std::string& n, const std::string& bytes);
  // Returns false for an event id seen before (a duplicate after a device's crash or resend).
  // A jump in the device's event numbers is reported as a gap.
  bool event(const std::string& site, const std::string& device, const std::string& id, std::uint64_t seq,
             std::vector<DeskNotice>& notices);

 private:
  struct Pending {
    std::optional<std::string> manifest;  // the signed payload
    std::map<std::size_t, std::string> chunks;
  };
  std::vector<DeskNotice> try_finish(const std::string& site, const std::string& device, const std::string& clip);
  DeskNotice reject(const std::string& site, const std::string& device, const std::string& clip,
                    const std::string& reason, const Pending& pending);

  std::filesystem::path dir_;
  std::map<std::string, std::string> keys_;
  std::map<std::string, Pending> pending_;  // by site/device/clip
  std::set<std::string> finished_;          // clips verified or rejected: later copies are duplicates
  struct ChainEnd {
    std::uint64_t index = 0;
    std::string hash;
  };
  std::map<std::string, ChainEnd> chains_;  // by site/device
  std::set<std::string> events_;            // ids seen
  std::map<std::string, std::uint64_t> last_seq_;  // by site/device
};

}  // namespace assure::receiver
