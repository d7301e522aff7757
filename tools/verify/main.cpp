// assure-verify: checks a clip offline against its signed manifest and the device's public key,
// for handing evidence over. Exit 0: authentic and whole; 1: it is not (the reason is printed).

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "evidence/signing.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: assure-verify CLIP MANIFEST --key PUBLIC_KEY_HEX_OR_FILE [--previous MANIFEST]

Checks that CLIP is exactly the file the device signed in MANIFEST: the manifest's Ed25519
signature against the device's public key, then the size, every chunk and the whole file's SHA-256.
With --previous, also that MANIFEST follows that one in the device's chain.
)";

// The whole of a regular file (a folder, a device or a FIFO is none), up to `limit` bytes.
std::optional<std::string> read(const std::string& file, std::uintmax_t limit = 1ull << 32) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec || size > limit) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) return std::nullopt;
  return bytes;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace assure;
  std::vector<std::string> files;
  std::string key, previous;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--key" && i + 1 < argc) key = argv[++i];
    else if (arg == "--previous" && i + 1 < argc) previous = argv[++i];
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
  return 0;
} catch (const std::exception& e) {
  std::cerr << "assure-verify: " << e.what() << "\n";
  return 2;
}
