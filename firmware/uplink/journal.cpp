#include "uplink/journal.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace assure::uplink::journal {
namespace fs = std::filesystem;

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i, v >>= 8) out.push_back(static_cast<char>(v & 0xff));
}
std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

namespace {

std::uint32_t crc_of(std::string_view header28, std::string_view body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(header28.data()), static_cast<uInt>(header28.size()));
  // (zlib takes a null buffer as "give me the initial value": an empty body must not be passed)
  if (!body.empty()) crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

std::string record(Kind kind, Lane lane, std::uint8_t flags, std::uint64_t id, std::uint64_t seq,
                   std::string_view body) {
  std::string out;
  out.reserve(kHeader + body.size());
  put_le(out, kMagic, 4);
  out.push_back(static_cast<char>(kind));
  out.push_back(static_cast<char>(lane));
  out.push_back(static_cast<char>(flags));
  out.push_back(0);
  put_le(out, id, 8);
  put_le(out, seq, 8);
  put_le(out, body.size(), 4);
  put_le(out, crc_of(out, body), 4);
  out.append(body);
  return out;
}

std::optional<Parsed> parse_at(std::string_view file, std::size_t at) {
  if (file.size() - at < kHeader) return std::nullopt;
  const char* h = file.data() + at;
  if (get_le(h, 4) != kMagic) return std::nullopt;
  const auto length = static_cast<std::uint32_t>(get_le(h + 24, 4));
  if (length > kMaxBody || file.size() - at - kHeader < length) return std::nullopt;
  const std::string_view body(h + kHeader, length);
  if (crc_of(std::string_view(h, 28), body) != static_cast<std::uint32_t>(get_le(h + 28, 4))) return std::nullopt;
  const auto kind = static_cast<std::uint8_t>(h[4]);
  const auto lane = static_cast<std::uint8_t>(h[5]);
  if (kind < kPut || kind > kMeta || lane > 1) return std::nullopt;
  return Parsed{static_cast<Kind>(kind), static_cast<Lane>(lane), static_cast<std::uint8_t>(h[6]), get_le(h + 8, 8),
                get_le(h + 16, 8), body};
}

std::string new_epoch() {
  std::random_device random;
  return fmt::format("{:08x}", random());
}

Result<void> write_all(int fd, std::string_view bytes, const fs::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(Errc::io, fmt::format("outbox: cannot write {}: {}", path.string(), std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Result<std::string> read_at(const fs::path& path, int fd, std::uint64_t offset, std::size_t length) {
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return fail(Errc::io, fmt::format("cannot read {} bytes at {} of {}: {}", length, offset, path.string(),
                                        n == 0 ? "the file is shorter" : std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

std::string put_body(const OutboxMessage& m, std::uint64_t& payload_at) {
  std::string body;
  put_le(body, m.topic.size(), 2);
  body += m.topic;
  put_le(body, m.group.size(), 2);
  body += m.group;
  if (m.slice) {
    put_le(body, m.slice->offset, 8);
    put_le(body, m.slice->length, 4);
    const std::string path = m.slice->file.string();
    put_le(body, path.size(), 2);
    body += path;
  }
  payload_at = kHeader + body.size();
  if (!m.slice) body += m.payload;
  return body;
}

bool read_put(std::string_view body, bool has_slice, std::string& topic, std::string& group,
              std::optional<FileSlice>& slice, std::size_t& payload_at) {
  std::size_t at = 0;
  auto take = [&](std::size_t n) -> std::optional<std::string_view> {
    if (body.size() - at < n) return std::nullopt;
    const auto out = body.substr(at, n);
    at += n;
    return out;
  };
  auto number = [&](int bytes) -> std::optional<std::uint64_t> {
    auto b = take(static_cast<std::size_t>(bytes));
    if (!b) return std::nullopt;
    return get_le(b->data(), bytes);
  };
  auto text = [&](std::string& into) {
    auto n = number(2);
    if (!n) return false;
    auto t = take(*n);
    if (!t) return false;
    into.assign(*t);
    return true;
  };
  if (!text(topic) || !text(group)) return false;
  if (has_slice) {
    auto offset = number(8);
    auto length = number(4);
    std::string path;
    if (!offset || !length || !text(path)) return false;
    slice = FileSlice{path, *offset, static_cast<std::uint32_t>(*length)};
  }
  payload_at = at;
  return true;
}

std::optional<std::uint64_t> read_sequence(int fd) {
  char bytes[16];
  if (fd < 0 || ::pread(fd, bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
  const std::uint64_t seq = get_le(bytes, 8), check = get_le(bytes + 8, 8);
  if (check != ~seq) return std::nullopt;
  return seq;
}

}  // namespace assure::uplink::journal
