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
#include "assure/pipelines/footage_sink.hpp"

namespace assure::evidence {

inline constexpr std::size_t kSealedRecord = 64u << 10;
inline constexpr std::string_view kSealedScheme = "assure-sealed-1";  // named in sidecars and manifests

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
  // Seals what is pending as a (shorter) record now: a cut file then ends at this point.
  Result<void> flush();
  // The last record (tagged final), synced. Nothing more may be written.
  Result<SealedSummary> finish();

 private:
  struct State;
  explicit SealedWriter(std::unique_ptr<State> state);
  Result<void> seal_record(bool final);
  std::unique_ptr<State> state_;
};

bool looks_sealed(std::string_view first_bytes);  // starts with the magic
bool file_looks_sealed(const std::filesystem::path& file);

// The recorder's sinks for a home kit: each file sealed to `recipient_hex` (checked here, once),
// a record per muxer buffer. Errors name a key that is not an Ed25519 public key.
Result<pipelines::FootageSinkFactory> sealing_sinks(std::string_view recipient_hex);

// Where the whole records of a sealed file cut short end (what the device can tell without the
// key: the lengths); 0 when not even its header is whole or it is not a sealed file.
std::uint64_t whole_records_end(std::string_view sealed);
std::uint64_t whole_records_end_of_file(const std::filesystem::path& file);  // reading only the lengths

// The plaintext of a sealed file, with the control room's secret key; at most max_bytes of it.
// Errors say which: not sealed, sealed for another key, damaged at record N, cut short.
Result<std::string> open_sealed(std::string_view sealed, const SigningKey& control_room, std::uint64_t max_bytes);

// As open_sealed, for a file a power cut or crash ended early: every record up to the cut, each
// authenticated (any altered one is still an error). complete: it ended with its final record.
struct OpenedSealed {
  std::string plaintext;
  bool complete = false;
  std::uint64_t records = 0;
};
Result<OpenedSealed> open_sealed_allowing_cut(std::string_view sealed, const SigningKey& control_room,
                                              std::uint64_t max_bytes);

}  // namespace assure::evidence
