#pragma once
// Footage sealed for the control room, for a home kit that must not hand a victim's life to
// whoever steals it: a file only the control room's key opens, written as a stream (the device
// never holds the whole plaintext, and never writes any of it to storage). libsodium: a fresh
// key per file, sealed to the control room with crypto_box_seal (its X25519 key, converted from
// the Ed25519 key that already signs its commands: one key pair for the control room), and the
// data in crypto_secretstream_xchacha20poly1305 records, each authenticated, the last tagged
// final, so a file cut short, reordered or altered is found and said.
//
// The file: "ASSURE-SEALED-1\n" (16 bytes), the sealed key (80 bytes), the stream header (24),
// then records: a 4-byte little-endian length and that many bytes of ciphertext (at most
// kSealedRecord bytes of plaintext each).

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "assure/base/error.hpp"
#include "assure/firmware/evidence/signing.hpp"

namespace assure::evidence {

inline constexpr std::size_t kSealedRecord = 64u << 10;

struct SealedSummary {
  std::uint64_t plaintext_bytes = 0;
  std::string plaintext_sha256;  // what the manifest signs beside the file's own hash
  std::uint64_t sealed_bytes = 0;
};

class SealedWriter {
 public:
  // recipient: the control room's Ed25519 public key, hex (uplink.control_room_key).
  static Result<std::unique_ptr<SealedWriter>> create(const std::filesystem::path& file, std::string_view recipient_hex);
  ~SealedWriter();
  SealedWriter(const SealedWriter&) = delete;
  SealedWriter& operator=(const SealedWriter&) = delete;

  Result<void> write(std::string_view plaintext);  // sealed a record at a time
  // The last record (tagged final), synced. Nothing more may be written.
  Result<SealedSummary> finish();

 private:
  struct State;
  explicit SealedWriter(std::unique_ptr<State> state);
  Result<void> seal_record(bool final);
  std::unique_ptr<State> state_;
};

bool looks_sealed(std::string_view first_bytes);  // starts with the magic

// The plaintext of a sealed file, with the control room's secret key; at most max_bytes of it.
// Errors say which: not sealed, sealed for another key, damaged at record N, cut short.
Result<std::string> open_sealed(std::string_view sealed, const SigningKey& control_room, std::uint64_t max_bytes);

}  // namespace assure::evidence
