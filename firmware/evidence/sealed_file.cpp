#include "assure/firmware/evidence/sealed_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace assure::evidence {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "ASSURE-SEALED-1\n";
using Stream = crypto_secretstream_xchacha20poly1305_state;
constexpr std::size_t kKey = crypto_secretstream_xchacha20poly1305_KEYBYTES;
constexpr std::size_t kSealedKey = crypto_box_SEALBYTES + kKey;
constexpr std::size_t kHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::size_t kPreamble = kMagic.size() + kSealedKey + kHeader;

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 | static_cast<std::uint32_t>(p[2]) << 16 |
         static_cast<std::uint32_t>(p[3]) << 24;
}

Result<void> write_all(int fd, std::string_view bytes, const fs::path& file) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(Errc::io, fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

struct SealedWriter::State {
  fs::path file;
  int fd = -1;
  Stream stream{};
  std::string pending;  // plaintext not yet sealed (less than a record)
  crypto_hash_sha256_state plain_hash{};
  SealedSummary summary;
  bool finished = false;
  ~State() {
    if (fd >= 0) ::close(fd);
    sodium_memzero(&stream, sizeof stream);
    sodium_memzero(pending.data(), pending.size());
  }
};

SealedWriter::SealedWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
SealedWriter::~SealedWriter() = default;

namespace {

// The control room's X25519 key, from the Ed25519 public key (hex) that signs its commands.
Result<std::array<unsigned char, crypto_box_PUBLICKEYBYTES>> recipient_key(std::string_view recipient_hex) {
  if (sodium_init() < 0) return fail(Errc::unavailable, "libsodium could not be initialised");
  const auto ed = from_hex(recipient_hex);
  if (!ed || ed->size() != crypto_sign_PUBLICKEYBYTES) {
    return fail(Errc::invalid_argument, "the control room's key must be 64 hex digits (an Ed25519 public key)");
  }
  std::array<unsigned char, crypto_box_PUBLICKEYBYTES> recipient{};
  if (crypto_sign_ed25519_pk_to_curve25519(recipient.data(), reinterpret_cast<const unsigned char*>(ed->data())) != 0) {
    return fail(Errc::invalid_argument, "the control room's key is not a usable Ed25519 public key");
  }
  return recipient;
}

// Where the whole records end in a sealed file of `size` bytes, given how to read the 4 length
// bytes at an offset (nullopt: unreadable). Lengths only: no key is needed, nothing authenticated.
template <typename LengthAt>
std::uint64_t records_end(std::uint64_t size, LengthAt length_at) {
  std::uint64_t at = kPreamble;
  while (at + 4 <= size) {
    const std::optional<std::uint32_t> length = length_at(at);
    if (!length || *length < kOverhead || *length > kSealedRecord + kOverhead || at + 4 + *length > size) break;
    at += 4 + *length;
  }
  return at;
}

}  // namespace

Result<std::unique_ptr<SealedWriter>> SealedWriter::create(const fs::path& file, std::string_view recipient_hex) {
  auto found = recipient_key(recipient_hex);
  if (!found) return std::unexpected(found.error());
  const auto& recipient = *found;
  auto state = std::make_unique<State>();
  state->file = file;
  std::array<unsigned char, kKey> key{};
  crypto_secretstream_xchacha20poly1305_keygen(key.data());
  std::string preamble(kMagic);
  std::array<unsigned char, kSealedKey> sealed_key{};
  crypto_box_seal(sealed_key.data(), key.data(), key.size(), recipient.data());
  preamble.append(reinterpret_cast<const char*>(sealed_key.data()), sealed_key.size());
  std::array<unsigned char, kHeader> header{};
  crypto_secretstream_xchacha20poly1305_init_push(&state->stream, header.data(), key.data());
  sodium_memzero(key.data(), key.size());  // from here only the control room can recover it
  preamble.append(reinterpret_cast<const char*>(header.data()), header.size());
  crypto_hash_sha256_init(&state->plain_hash);
  state->fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (state->fd < 0) return fail(Errc::io, fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  if (auto written = write_all(state->fd, preamble, file); !written) return std::unexpected(written.error());
  state->summary.sealed_bytes = preamble.size();
  return std::unique_ptr<SealedWriter>(new SealedWriter(std::move(state)));
}

Result<void> SealedWriter::seal_record(bool final) {
  State& s = *state_;
  std::string record;
  put_le32(record, static_cast<std::uint32_t>(s.pending.size() + kOverhead));
  record.resize(4 + s.pending.size() + kOverhead);
  crypto_secretstream_xchacha20poly1305_push(
      &s.stream, reinterpret_cast<unsigned char*>(record.data() + 4), nullptr,
      reinterpret_cast<const unsigned char*>(s.pending.data()), s.pending.size(), nullptr, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  sodium_memzero(s.pending.data(), s.pending.size());
  s.pending.clear();
  if (auto written = write_all(s.fd, record, s.file); !written) return written;
  s.summary.sealed_bytes += record.size();
  return {};
}

Result<void> SealedWriter::flush() {
  if (state_->finished) return fail(Errc::invalid_argument, fmt::format("{} is already finished", state_->file.string()));
  if (state_->pending.empty()) return {};
  return seal_record(false);
}

Result<void> SealedWriter::write(std::string_view plaintext) {
  State& s = *state_;
  if (s.finished) return fail(Errc::invalid_argument, fmt::format("{} is already finished", s.file.string()));
  crypto_hash_sha256_update(&s.plain_hash, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size());
  s.summary.plaintext_bytes += plaintext.size();
  while (!plaintext.empty()) {
    const std::size_t take = std::min(plaintext.size(), kSealedRecord - s.pending.size());
    s.pending.append(plaintext.substr(0, take));
    plaintext.remove_prefix(take);
    if (s.pending.size() == kSealedRecord) {
      if (auto sealed = seal_record(false); !sealed) return sealed;
    }
  }
  return {};
}

Result<SealedSummary> SealedWriter::finish() {
  State& s = *state_;
  if (s.finished) return s.summary;
  if (auto sealed = seal_record(true); !sealed) return std::unexpected(sealed.error());
  s.finished = true;
  if (::fsync(s.fd) != 0) return fail(Errc::io, fmt::format("cannot sync {}: {}", s.file.string(), std::strerror(errno)));
  ::close(std::exchange(s.fd, -1));
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&s.plain_hash, digest.data());
  s.summary.plaintext_sha256 = to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  return s.summary;
}

bool looks_sealed(std::string_view first_bytes) { return first_bytes.starts_with(kMagic); }

bool file_looks_sealed(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string head(kMagic.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return in.gcount() == static_cast<std::streamsize>(head.size()) && looks_sealed(head);
}

namespace {

class SealingSink final : public pipelines::FootageSink {
 public:
  explicit SealingSink(std::unique_ptr<SealedWriter> writer) : writer_(std::move(writer)) {}
  Result<void> write(std::string_view bytes) override {
    if (auto written = writer_->write(bytes); !written) return written;
    return writer_->flush();  // a record ends where the muxer's buffer does
  }
  Result<pipelines::SealedFootage> finish() override {
    auto done = writer_->finish();
    if (!done) return std::unexpected(done.error());
    return pipelines::SealedFootage{std::string(kSealedScheme), done->plaintext_bytes, done->plaintext_sha256};
  }

 private:
  std::unique_ptr<SealedWriter> writer_;
};

}  // namespace

Result<pipelines::FootageSinkFactory> sealing_sinks(std::string_view recipient_hex) {
  if (auto checked = recipient_key(recipient_hex); !checked) {
    return fail(checked.error().code, "footage cannot be sealed: uplink.control_room_key: " + checked.error().message);
  }
  return pipelines::FootageSinkFactory(
      [recipient = std::string(recipient_hex)](const fs::path& part) -> Result<std::unique_ptr<pipelines::FootageSink>> {
        auto writer = SealedWriter::create(part, recipient);
        if (!writer) return std::unexpected(writer.error());
        return std::unique_ptr<pipelines::FootageSink>(std::make_unique<SealingSink>(std::move(*writer)));
      });
}

std::uint64_t whole_records_end(std::string_view sealed) {
  if (!looks_sealed(sealed) || sealed.size() < kPreamble) return 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  return records_end(sealed.size(), [&](std::uint64_t at) { return std::optional<std::uint32_t>(get_le32(bytes + at)); });
}

std::uint64_t whole_records_end_of_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  const std::uint64_t size = fs::file_size(file, ec);
  std::string preamble(kPreamble, '\0');
  in.read(preamble.data(), static_cast<std::streamsize>(preamble.size()));
  if (ec || !in || !looks_sealed(preamble)) return 0;
  return records_end(size, [&](std::uint64_t at) -> std::optional<std::uint32_t> {
    std::array<unsigned char, 4> length_bytes{};
    in.seekg(static_cast<std::streamoff>(at));
    in.read(reinterpret_cast<char*>(length_bytes.data()), 4);
    if (!in) return std::nullopt;
    return get_le32(length_bytes.data());
  });
}

Result<std::string> open_sealed(std::string_view sealed, const SigningKey& control_room, std::uint64_t max_bytes) {
  auto opened = open_sealed_allowing_cut(sealed, control_room, max_bytes);
  if (!opened) return std::unexpected(opened.error());
  if (!opened->complete) {
    return fail(Errc::parse, fmt::format("cut short: it ends after record {} with no final record", opened->records));
  }
  return std::move(opened->plaintext);
}

Result<OpenedSealed> open_sealed_allowing_cut(std::string_view sealed, const SigningKey& control_room,
                                              std::uint64_t max_bytes) {
  if (sodium_init() < 0) return fail(Errc::unavailable, "libsodium could not be initialised");
  if (sealed.size() < kMagic.size() && kMagic.starts_with(sealed)) {
    return fail(Errc::parse, "a sealed file cut short inside its header");
  }
  if (!looks_sealed(sealed)) return fail(Errc::parse, "not a sealed file (no ASSURE-SEALED-1 header)");
  if (sealed.size() < kPreamble) return fail(Errc::parse, "a sealed file cut short inside its header");
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  std::array<unsigned char, kKey> key{};
  const auto box_public = control_room.box_public();
  auto box_secret = control_room.box_secret();
  const bool opened =
      crypto_box_seal_open(key.data(), bytes + kMagic.size(), kSealedKey, box_public.data(), box_secret.data()) == 0;
  sodium_memzero(box_secret.data(), box_secret.size());
  if (!opened) return fail(Errc::invalid_argument, "sealed for another key: this control-room key cannot open it");
  Stream stream{};
  const bool started = crypto_secretstream_xchacha20poly1305_init_pull(&stream, bytes + kMagic.size() + kSealedKey, key.data()) == 0;
  sodium_memzero(key.data(), key.size());
  if (!started) return fail(Errc::parse, "a sealed file with a damaged stream header");
  OpenedSealed out;
  std::string& plain = out.plaintext;
  std::size_t at = kPreamble;
  for (std::uint64_t record = 1;; ++record) {
    // A record torn by the cut is left out: everything before it is whole and authenticated.
    if (at + 4 > sealed.size()) return out;
    const std::uint32_t length = get_le32(bytes + at);
    if (length < kOverhead || length > kSealedRecord + kOverhead) {
      return fail(Errc::parse, fmt::format("record {} claims {} bytes: damaged", record, length));
    }
    if (at + 4 + length > sealed.size()) return out;
    const std::size_t before = plain.size();
    if (before + (length - kOverhead) > max_bytes) {
      return fail(Errc::invalid_argument, fmt::format("opens to more than {} bytes", max_bytes));
    }
    plain.resize(before + length - kOverhead);
    unsigned char tag = 0;
    unsigned long long produced = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&stream, reinterpret_cast<unsigned char*>(plain.data() + before), &produced,
                                                   &tag, bytes + at + 4, length, nullptr, 0) != 0) {
      return fail(Errc::parse, fmt::format("record {} was altered, reordered or damaged (it does not authenticate)", record));
    }
    plain.resize(before + produced);
    at += 4 + length;
    out.records = record;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      if (at != sealed.size()) return fail(Errc::parse, fmt::format("{} bytes after the final record", sealed.size() - at));
      out.complete = true;
      return out;
    }
  }
}

}  // namespace assure::evidence
