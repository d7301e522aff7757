#include "assure/firmware/evidence/signing.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <fstream>
#include <mutex>

#include "assure/base/files.hpp"
#include "assure/firmware/uplink/json_input.hpp"

namespace assure::evidence {
namespace fs = std::filesystem;

namespace {

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = value(hex[i]), lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  ensure_sodium();
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return to_hex(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
}

Result<FileHashes> hash_file(const fs::path& file, std::uint32_t chunk_bytes) {
  ensure_sodium();
  if (chunk_bytes == 0) return fail(Errc::invalid_argument, "chunk size 0");
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::not_found, fmt::format("cannot open {}", file.string()));
  crypto_hash_sha256_state whole;
  crypto_hash_sha256_init(&whole);
  FileHashes out;
  std::string chunk(chunk_bytes, '\0');
  while (in) {
    in.read(chunk.data(), chunk_bytes);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    crypto_hash_sha256_update(&whole, reinterpret_cast<const unsigned char*>(chunk.data()), got);
    out.chunks.push_back(sha256_hex(std::string_view(chunk.data(), got)));
    out.size += got;
  }
  if (in.bad()) return fail(Errc::io, fmt::format("cannot read {}", file.string()));
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&whole, hash);
  out.sha256 = to_hex(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
  return out;
}

// ---- keys ---------------------------------------------------------------------------------------

SigningKey SigningKey::generate() {
  ensure_sodium();
  SigningKey key;
  crypto_sign_keypair(key.public_.data(), key.secret_.data());
  return key;
}

Result<SigningKey> SigningKey::load(const fs::path& file) {
  ensure_sodium();
  std::ifstream in(file);
  if (!in) return fail(Errc::not_found, fmt::format("no signing key at {}", file.string()));
  std::string text;
  in >> text;
  const auto secret = from_hex(text);
  if (!secret || secret->size() != crypto_sign_SECRETKEYBYTES) {
    return fail(Errc::parse, fmt::format("{} is not an Ed25519 secret key (expected {} hex digits)", file.string(),
                                         2 * crypto_sign_SECRETKEYBYTES));
  }
  SigningKey key;
  std::copy(secret->begin(), secret->end(), key.secret_.begin());
  crypto_sign_ed25519_sk_to_pk(key.public_.data(), key.secret_.data());
  return key;
}

Result<void> SigningKey::save(const fs::path& file) const {
  const std::string hex = to_hex(std::string_view(reinterpret_cast<const char*>(secret_.data()), secret_.size()));
  return base::write_durably(file, hex + "\n", 0600);
}

Result<SigningKey> SigningKey::load_or_create(const fs::path& file, bool* created) {
  if (created != nullptr) *created = false;
  std::error_code ec;
  if (fs::exists(file, ec)) return load(file);
  fs::create_directories(file.parent_path(), ec);
  SigningKey key = generate();
  if (auto saved = key.save(file); !saved) return std::unexpected(saved.error());
  if (created != nullptr) *created = true;
  return key;
}

std::string SigningKey::public_hex() const {
  return to_hex(std::string_view(reinterpret_cast<const char*>(public_.data()), public_.size()));
}

std::string SigningKey::sign_hex(std::string_view message) const {
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_.data());
  return to_hex(std::string_view(reinterpret_cast<const char*>(signature), sizeof signature));
}

std::array<unsigned char, 32> SigningKey::box_secret() const {
  std::array<unsigned char, 32> out{};
  crypto_sign_ed25519_sk_to_curve25519(out.data(), secret_.data());
  return out;
}

std::array<unsigned char, 32> SigningKey::box_public() const {
  std::array<unsigned char, 32> out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), public_.data()) != 0) out.fill(0);  // (our own key: never)
  return out;
}

bool verify_signature(std::string_view public_hex, std::string_view message, std::string_view signature_hex) {
  ensure_sodium();
  const auto key = from_hex(public_hex);
  const auto signature = from_hex(signature_hex);
  if (!key || key->size() != crypto_sign_PUBLICKEYBYTES || !signature || signature->size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(key->data())) == 0;
}

// ---- manifests ----------------------------------------------------------------------------------

Manifest footage_manifest(const Maker& maker, const std::string& id, const fs::path& file, const std::string& start_utc,
                          const std::string& end_utc, std::uint64_t frames, const FileHashes& hashes,
                          std::uint32_t chunk_size, std::uint64_t chain_count, std::string previous,
                          const std::optional<pipelines::SealedFootage>& sealed) {
  Manifest m;
  m.clip = id;
  m.file = file.filename().string();
  m.device = maker.device;
  m.site = maker.site;
  m.camera = maker.camera;
  m.firmware = maker.firmware;
  m.start_utc = start_utc;
  m.end_utc = end_utc;
  m.frames = frames;
  m.size = hashes.size;
  m.chunk_size = chunk_size;
  m.sha256 = hashes.sha256;
  m.chunks = hashes.chunks;
  m.index = chain_count + 1;
  m.previous = std::move(previous);
  if (sealed) {
    m.sealed_scheme = sealed->scheme;
    m.plaintext_size = sealed->plaintext_bytes;
    m.plaintext_sha256 = sealed->plaintext_sha256;
  }
  return m;
}

nlohmann::json manifest_body(const Manifest& m) {
  nlohmann::json body{{"clip", m.clip},           {"file", m.file},         {"device", m.device},
                      {"site", m.site},           {"camera", m.camera},     {"firmware", m.firmware},
                      {"start_utc", m.start_utc}, {"end_utc", m.end_utc},   {"frames", m.frames},
                      {"size", m.size},           {"chunk_size", m.chunk_size}, {"sha256", m.sha256},
                      {"chunks", m.chunks},       {"events", m.events},     {"index", m.index},
                      {"previous", m.previous}};
  if (!m.sealed_scheme.empty()) {
    body["sealed"] = {{"scheme", m.sealed_scheme},
                      {"plaintext_size", m.plaintext_size},
                      {"plaintext_sha256", m.plaintext_sha256.empty() ? nlohmann::json(nullptr)
                                                                      : nlohmann::json(m.plaintext_sha256)}};
  }
  return body;
}

std::string manifest_hash(const nlohmann::json& body) { return sha256_hex(body.dump()); }

std::string signed_manifest(const nlohmann::json& body, const SigningKey& key) {
  return nlohmann::json{{"manifest", body}, {"signature", key.sign_hex(body.dump())}, {"key", key.public_hex()}}.dump();
}

std::string signed_object(nlohmann::json object, const SigningKey& key) {
  object.erase("signature");
  const std::string signature = key.sign_hex(uplink::dump_json(object));
  object["signature"] = signature;
  return uplink::dump_json(object);
}

bool verify_signed_object(const nlohmann::json& object, std::string_view public_hex) {
  if (!object.is_object() || !object.contains("signature") || !object["signature"].is_string()) return false;
  nlohmann::json body = object;
  const std::string signature = body["signature"];
  body.erase("signature");
  return verify_signature(public_hex, body.dump(), signature);
}

Result<VerifiedManifest> verify_manifest(std::string_view payload, std::string_view public_hex) {
  auto parsed = uplink::parse_json(payload, "manifest", kManifestBounds);
  if (!parsed) return std::unexpected(parsed.error());
  const nlohmann::json& j = *parsed;
  if (!j.is_object() || !j.contains("manifest") || !j["manifest"].is_object() ||
      !j.contains("signature") || !j["signature"].is_string()) {
    return fail(Errc::parse, "not a signed manifest (a JSON object with \"manifest\" and \"signature\")");
  }
  const auto& body = j["manifest"];
  if (!verify_signature(public_hex, body.dump(), j["signature"].get<std::string>())) {
    return fail(Errc::invalid_argument, "the manifest's signature does not verify with the enrolled device key");
  }
  Manifest m;
  try {
    m.clip = body.at("clip");
    m.file = body.at("file");
    m.device = body.at("device");
    m.site = body.at("site");
    m.camera = body.at("camera");
    m.firmware = body.at("firmware");
    m.start_utc = body.at("start_utc");
    m.end_utc = body.at("end_utc");
    m.frames = body.at("frames");
    m.size = body.at("size");
    m.chunk_size = body.at("chunk_size");
    m.sha256 = body.at("sha256");
    m.chunks = body.at("chunks").get<std::vector<std::string>>();
    m.events = body.at("events").get<std::vector<std::string>>();
    m.index = body.at("index");
    m.previous = body.at("previous");
    if (body.contains("sealed")) {
      const auto& sealed = body.at("sealed");
      m.sealed_scheme = sealed.at("scheme");
      m.plaintext_size = sealed.at("plaintext_size");
      if (!sealed.at("plaintext_sha256").is_null()) m.plaintext_sha256 = sealed.at("plaintext_sha256");
      if (m.sealed_scheme.empty()) throw nlohmann::json::other_error::create(501, "sealed.scheme is empty", nullptr);
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(Errc::parse, fmt::format("a signed manifest with a field missing or of the wrong type: {}", e.what()));
  }
  const std::uint64_t expected_chunks = m.chunk_size == 0 ? 0 : (m.size + m.chunk_size - 1) / m.chunk_size;
  if (m.chunk_size == 0 || m.chunks.size() != expected_chunks) {
    return fail(Errc::parse, fmt::format("manifest of {}: {} chunk hashes for {} bytes in chunks of {}", m.clip,
                                         m.chunks.size(), m.size, m.chunk_size));
  }
  return VerifiedManifest{std::move(m), manifest_hash(body)};
}

Result<void> verify_clip_whole(std::string_view clip, const Manifest& m) {
  if (clip.size() != m.size) {
    return fail(Errc::invalid_argument, fmt::format("clip {}: {} bytes, the manifest says {}", m.clip, clip.size(), m.size));
  }
  if (sha256_hex(clip) != m.sha256) {
    return fail(Errc::invalid_argument, fmt::format("clip {}: the file's SHA-256 does not match", m.clip));
  }
  return {};
}

Result<void> verify_clip_bytes(std::string_view clip, const Manifest& m) {
  if (clip.size() != m.size) return verify_clip_whole(clip, m);
  for (std::size_t n = 0; n < m.chunks.size(); ++n) {
    const auto piece = clip.substr(n * m.chunk_size, m.chunk_size);
    if (sha256_hex(piece) != m.chunks[n]) {
      return fail(Errc::invalid_argument, fmt::format("clip {}: chunk {} (bytes {} to {}) does not match its hash",
                                                      m.clip, n, n * m.chunk_size, n * m.chunk_size + piece.size()));
    }
  }
  return verify_clip_whole(clip, m);
}

// ---- the chain ----------------------------------------------------------------------------------

Result<Chain> Chain::open(const fs::path& file) {
  Chain chain;
  chain.file_ = file;
  std::error_code ec;
  if (!fs::exists(file, ec)) return chain;
  constexpr InputBounds kChainBounds{.max_bytes = 4000, .max_depth = 2, .max_string = 256};
  const auto text = base::read_bounded(file, kChainBounds.max_bytes);
  auto j = text ? uplink::parse_json(*text, file.string(), kChainBounds) : std::unexpected(text.error());
  // Not const: [] on a key that is missing reads null (on a const object it is undefined).
  if (!j || !j->is_object() || !(*j)["count"].is_number_unsigned() || !(*j)["last"].is_string()) {
    // Never started afresh: a new chain would hide what went before it.
    return fail(Errc::parse, fmt::format("{} is not an evidence chain file (count, last): the device will not "
                                         "start a new chain over it",
                                         file.string()));
  }
  chain.count_ = (*j)["count"];
  chain.last_hash_ = (*j)["last"];
  // Files from before the clip was kept with its link: taken as queued (they were, or were lost).
  if (j->contains("clip")) {
    if (!(*j)["clip"].is_string() || !(*j)["queued"].is_boolean() ||
        (!(*j)["clip"].get<std::string>().empty() && !plain_name((*j)["clip"].get<std::string>()))) {
      return fail(Errc::parse, fmt::format("{}: the last link's clip and queued are not a clip id and a flag: the "
                                           "device will not start a new chain over it",
                                           file.string()));
    }
    chain.last_clip_ = (*j)["clip"];
    chain.queued_ = (*j)["queued"];
  }
  return chain;
}

Result<void> Chain::save(std::uint64_t count, const std::string& hash, const std::string& clip, bool queued) {
  const auto written = base::write_durably(
      file_, nlohmann::json{{"count", count}, {"last", hash}, {"clip", clip}, {"queued", queued}}.dump() + "\n", 0600);
  if (!written) return written;
  count_ = count;
  last_hash_ = hash;
  last_clip_ = clip;
  queued_ = queued;
  return {};
}

Result<void> Chain::advance(const std::string& hash, const std::string& clip) {
  return save(count_ + 1, hash, clip, clip.empty());
}

Result<void> Chain::mark_queued() {
  if (queued_) return {};
  return save(count_, last_hash_, last_clip_, true);
}

}  // namespace assure::evidence
