#pragma once
// Signed evidence. Each finished clip gets a manifest: who made it (device, camera, firmware),
// when (UTC start and end), what it is (SHA-256 of the file and of every chunk it travels in) and
// the hash of the device's previous manifest, so a deleted or withheld clip shows as a gap in the
// chain. The manifest is signed with the device's Ed25519 key (libsodium), made on first start and
// kept in a private file; its public half is enrolled at the control room.
//
// The signed bytes are the manifest object serialised by nlohmann::json's dump() (keys sorted, no
// spaces): any verifier re-serialises the object it received and checks those bytes.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/pipelines/footage_sink.hpp"

namespace assure::evidence {

std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);  // nullopt: not an even run of hex digits
std::string sha256_hex(std::string_view bytes);

struct FileHashes {
  std::uint64_t size = 0;
  std::string sha256;                // of the whole file
  std::vector<std::string> chunks;   // of each chunk_bytes piece, in order
};
Result<FileHashes> hash_file(const std::filesystem::path& file, std::uint32_t chunk_bytes);

class SigningKey {
 public:
  // The key in `file` (hex of the 64-byte Ed25519 secret key), or a new one written there with
  // mode 0600 when there is none. A file that is not a key is an error, never replaced.
  static Result<SigningKey> load_or_create(const std::filesystem::path& file, bool* created = nullptr);
  static Result<SigningKey> load(const std::filesystem::path& file);
  static SigningKey generate();
  Result<void> save(const std::filesystem::path& file) const;  // 0600

  std::string public_hex() const;
  std::string sign_hex(std::string_view message) const;  // detached signature, 128 hex digits
  // The same key pair as X25519, for opening what was sealed to it (sealed_file.hpp).
  std::array<unsigned char, 32> box_secret() const;
  std::array<unsigned char, 32> box_public() const;

 private:
  std::array<unsigned char, 64> secret_{};
  std::array<unsigned char, 32> public_{};
};

bool verify_signature(std::string_view public_hex, std::string_view message, std::string_view signature_hex);

struct Manifest {
  std::string clip;  // the clip id
  std::string file;  // its file name, <clip>.mp4
  std::string device, site, camera, firmware;
  std::string start_utc, end_utc;
  std::uint64_t frames = 0;
  std::uint64_t size = 0;
  std::uint32_t chunk_size = 0;
  std::string sha256;
  std::vector<std::string> chunks;
  std::vector<std::string> events;  // ids of the events inside
  std::uint64_t index = 0;  // place in the device's chain, from 1
  std::string previous;     // hash of manifest index-1; empty for the first
  // A sealed file (sealed_file.hpp): size and sha256 above are of what is on storage and travels,
  // these of the MP4 it opens to. Empty scheme: a plain MP4. plaintext_sha256 is empty for a
  // sealed file cut short (the device cannot read it to hash it); each record authenticates.
  std::string sealed_scheme;
  std::uint64_t plaintext_size = 0;
  std::string plaintext_sha256;
};

// Who made a piece of footage, for its manifest.
struct Maker {
  std::string device, site, camera, firmware;
};
// A manifest for a file of footage: its maker, times, frames and hashes, and the place after
// `chain_count` links whose last is `previous`. Kind-specific members are the caller's.
Manifest footage_manifest(const Maker& maker, const std::string& id, const std::filesystem::path& file,
                          const std::string& start_utc, const std::string& end_utc, std::uint64_t frames,
                          const FileHashes& hashes, std::uint32_t chunk_size, std::uint64_t chain_count,
                          std::string previous, const std::optional<pipelines::SealedFootage>& sealed);

nlohmann::json manifest_body(const Manifest& manifest);
std::string manifest_hash(const nlohmann::json& body);  // the chain link: SHA-256 of the signed bytes
// {"manifest": body, "signature": hex, "key": public hex}
std::string signed_manifest(const nlohmann::json& body, const SigningKey& key);

// A JSON object with a "signature" member: Ed25519 over dump() of the object without it. Events
// and replies travel like this, so the control room can tell the device's own from a forgery.
std::string signed_object(nlohmann::json object, const SigningKey& key);
bool verify_signed_object(const nlohmann::json& object, std::string_view public_hex);

// A manifest of the longest clip in the smallest chunks is about 200 KB.
inline constexpr InputBounds kManifestBounds{.max_bytes = 4u << 20, .max_depth = 4, .max_string = 4096};

struct VerifiedManifest {
  Manifest manifest;
  std::string hash;
};
// Parses a signed manifest and checks its signature against the enrolled key. Errors say which.
Result<VerifiedManifest> verify_manifest(std::string_view payload, std::string_view public_hex);
// The clip bytes against the manifest: size, every chunk (naming the first that differs), the whole.
Result<void> verify_clip_bytes(std::string_view clip, const Manifest& manifest);
// Only the size and the whole file's SHA-256: for bytes whose chunks were each checked already.
Result<void> verify_clip_whole(std::string_view clip, const Manifest& manifest);

// The device's end of the chain, kept in a file so it survives restarts. With the hash of the last
// link it keeps that link's clip and whether the clip was queued for the control room: a crash
// between the chain moving on and the clip being queued is found at start (queued() false) and
// the clip queued again from its signed manifest, so the chain never shows a gap it need not.
class Chain {
 public:
  static Result<Chain> open(const std::filesystem::path& file);
  std::uint64_t count() const { return count_; }
  const std::string& last_hash() const { return last_hash_; }
  const std::string& last_clip() const { return last_clip_; }
  bool queued() const { return queued_; }
  // On storage before it returns; the new link not yet queued (unless it names no clip).
  Result<void> advance(const std::string& hash, const std::string& clip = {});
  Result<void> mark_queued();  // the last link's clip is in the outbox, on storage

 private:
  Result<void> save(std::uint64_t count, const std::string& hash, const std::string& clip, bool queued);
  std::filesystem::path file_;
  std::uint64_t count_ = 0;
  std::string last_hash_;
  std::string last_clip_;
  bool queued_ = true;
};

}  // namespace assure::evidence
