// assure-verify: checks a clip offline against its signed manifest and the device's public key,
// for handing evidence over. Exit 0: authentic and whole; 1: it is not (the reason is printed).

#include <fstream>
#include <iostream>
#include <string>

#include "assure/base/files.hpp"
#include "assure/firmware/evidence/audit_log.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "sealed_clips.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: assure-verify CLIP MANIFEST --key PUBLIC_KEY_HEX_OR_FILE [--previous MANIFEST]
                     [--decrypt-key CONTROL_ROOM_KEY_FILE --out MP4]
       assure-verify --audit AUDIT_LOG

Checks that CLIP is exactly the file the device signed in MANIFEST: the manifest's Ed25519
signature against the device's public key, then the size, every chunk and the whole file's SHA-256.
With --previous, also that MANIFEST follows that one in the device's chain.
A home kit's clip is sealed to the control room (its manifest says so): with --decrypt-key (the
control room's key file, as assure-key control-room wrote it) it is opened, what it opens to is
checked against the plaintext SHA-256 the manifest signs, and the MP4 is written to --out. A clip
sealed and then cut short by a power loss opens to its whole records, cut to whole fragments.
With --audit, that a copy of a device's audit log (<state>/audit.log) is whole: every record's hash
and its link to the one before, so a record changed, removed or reordered is found and named.
)";

// A regular file whole, or nothing (the reason is the same for the user: it cannot be read).
std::optional<std::string> read(const std::string& file, std::uint64_t limit = 1ull << 32) {
  auto text = assure::base::read_bounded(file, limit);
  return text ? std::optional<std::string>(std::move(*text)) : std::nullopt;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace assure;
  if (argc == 3 && std::string_view(argv[1]) == "--audit") {
    auto records = evidence::verify_audit_log(argv[2]);
    if (!records) {
      std::cout << "NOT VERIFIED: " << records.error().message << "\n";
      return 1;
    }
    std::cout << "VERIFIED: " << argv[2] << ": " << *records << " record(s), the chain whole\n";
    return 0;
  }
  std::vector<std::string> files;
  std::string key, previous, decrypt_key, out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--key" && i + 1 < argc) key = argv[++i];
    else if (arg == "--previous" && i + 1 < argc) previous = argv[++i];
    else if (arg == "--decrypt-key" && i + 1 < argc) decrypt_key = argv[++i];
    else if (arg == "--out" && i + 1 < argc) out = argv[++i];
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (!arg.starts_with("-")) files.push_back(arg);
    else {
      std::cerr << "assure-verify: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (files.size() != 2 || key.empty()) {
    std::cerr << "assure-verify: needs CLIP, MANIFEST and --key\n" << kUsage;
    return 2;
  }
  if (decrypt_key.empty() != out.empty()) {
    std::cerr << "assure-verify: --decrypt-key and --out go together\n" << kUsage;
    return 2;
  }
  if (key.size() != 64) {  // a file holding the key
    auto text = read(key, 4096);
    if (!text) {
      std::cerr << "assure-verify: --key is neither 64 hex digits nor a readable file: " << key << "\n";
      return 2;
    }
    key = text->substr(0, text->find_first_of(" \n\r\t"));
  }
  const auto clip = read(files[0]);
  const auto manifest = read(files[1], evidence::kManifestBounds.max_bytes);
  if (!clip || !manifest) {
    std::cerr << "assure-verify: cannot read " << (!clip ? files[0] : files[1])
              << " (not a regular file, or larger than a " << (!clip ? "clip" : "manifest") << " can be)\n";
    return 2;
  }
  auto verified = evidence::verify_manifest(*manifest, key);
  if (!verified) {
    std::cout << "NOT VERIFIED: " << files[1] << ": " << verified.error().message << "\n";
    return 1;
  }
  if (auto checked = evidence::verify_clip_bytes(*clip, verified->manifest); !checked) {
    std::cout << "NOT VERIFIED: " << files[0] << ": " << checked.error().message << "\n";
    return 1;
  }
  const auto& m = verified->manifest;
  if (!previous.empty()) {
    const auto before_text = read(previous, evidence::kManifestBounds.max_bytes);
    auto before = before_text ? evidence::verify_manifest(*before_text, key)
                              : Result<evidence::VerifiedManifest>(fail(Errc::not_found, "cannot read " + previous));
    if (!before) {
      std::cout << "NOT VERIFIED: " << previous << ": " << before.error().message << "\n";
      return 1;
    }
    if (m.index != before->manifest.index + 1 || m.previous != before->hash) {
      std::cout << "NOT VERIFIED: chain: " << files[1] << " (#" << m.index << ") does not follow " << previous << " (#"
                << before->manifest.index << ")\n";
      return 1;
    }
  }
  std::cout << "VERIFIED: " << files[0] << " is clip " << m.clip << " of " << m.site << "/" << m.device << " camera "
            << m.camera << ", " << m.start_utc << " to " << m.end_utc << ", " << m.frames << " frames, " << m.size
            << " bytes, SHA-256 " << m.sha256 << ", chain #" << m.index << ", firmware " << m.firmware << "\n";
  if (m.sealed_scheme.empty()) {
    if (!decrypt_key.empty()) std::cout << "(not sealed: it is the MP4 itself; nothing written to " << out << ")\n";
    return 0;
  }
  if (decrypt_key.empty()) {
    std::cout << "SEALED (" << m.sealed_scheme << ") to the control room: open it with --decrypt-key and --out\n";
    return 0;
  }
  auto room = evidence::SigningKey::load(decrypt_key);
  if (!room) {
    std::cerr << "assure-verify: --decrypt-key: " << room.error().message << "\n";
    return 2;
  }
  auto opened = receiver::open_sealed_clip(*clip, m, *room);
  if (!opened) {
    std::cout << "NOT OPENED: " << files[0] << ": " << opened.error().message << "\n";
    return 1;
  }
  if (opened->cut_short) {
    auto cut = receiver::write_opened_cut_clip(out, opened->mp4);
    if (!cut) {
      std::cout << "NOT OPENED: " << files[0] << ": " << cut.error().message << "\n";
      return 1;
    }
    std::cout << "OPENED: " << out << ": " << opened->note << "; " << *cut << "\n";
    return 0;
  }
  if (auto written = base::write_durably(out, opened->mp4); !written) {
    std::cerr << "assure-verify: " << written.error().message << "\n";
    return 2;
  }
  std::cout << "OPENED: " << out << ": " << opened->note << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "assure-verify: " << e.what() << "\n";
  return 2;
}
