#pragma once
// The outbox journal's records on disk (private to the outbox): each record is a 32-byte header
// (magic "AOB1", kind, lane, flags, id, event number, body length, CRC-32 of header and body) and
// its body. A put's body is its topic, group, optional file slice and inline payload; an ack names
// the put it ends; a meta record carries the journal's epoch. Also the raw file I/O the outbox
// uses, retried on EINTR, and outbox.sequence, the last event number kept beside the journal.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "assure/base/error.hpp"
#include "assure/firmware/uplink/outbox.hpp"

namespace assure::uplink::journal {

inline constexpr std::uint32_t kMagic = 0x31424f41;  // "AOB1" little-endian
inline constexpr std::size_t kHeader = 32;
inline constexpr std::uint32_t kMaxBody = 64u << 20;
inline constexpr std::uint64_t kCompactAbove = 1u << 20;
inline constexpr std::uint64_t kMostLostNumbers = 1ull << 32;  // more than that in outbox.sequence is not believed

enum Kind : std::uint8_t { kPut = 1, kAck = 2, kMeta = 3 };
enum Flags : std::uint8_t { kQosMask = 3, kRetained = 4, kSlice = 8 };

void put_le(std::string& out, std::uint64_t v, int bytes);
std::uint64_t get_le(const char* p, int bytes);

std::string record(Kind kind, Lane lane, std::uint8_t flags, std::uint64_t id, std::uint64_t seq, std::string_view body);

struct Parsed {
  Kind kind;
  Lane lane;
  std::uint8_t flags;
  std::uint64_t id, seq;
  std::string_view body;
};
// The record at `at`, if it is whole and its checksum holds.
std::optional<Parsed> parse_at(std::string_view file, std::size_t at);

// A put's body; payload_at is where the inline payload starts, from the record's start.
std::string put_body(const OutboxMessage& m, std::uint64_t& payload_at);
// The fields of a put body; false when it does not hold together.
bool read_put(std::string_view body, bool has_slice, std::string& topic, std::string& group,
              std::optional<FileSlice>& slice, std::size_t& payload_at);

std::string new_epoch();
Result<void> write_all(int fd, std::string_view bytes, const std::filesystem::path& path);
Result<std::string> read_at(const std::filesystem::path& path, int fd, std::uint64_t offset, std::size_t length);
// outbox.sequence: the last event number and its complement, 16 bytes at offset 0.
std::optional<std::uint64_t> read_sequence(int fd);

}  // namespace assure::uplink::journal

namespace assure::uplink {

struct Outbox::Entry {
  std::uint64_t id = 0;
  Lane lane = Lane::event;
  std::uint8_t flags = 0;
  std::uint64_t seq = 0;
  std::string topic;
  std::string group;
  std::optional<FileSlice> slice;
  std::uint64_t record_offset = 0;  // in the journal
  std::uint64_t record_size = 0;
  std::uint64_t payload_at = 0;  // from the record's start (inline payloads)
  std::uint64_t payload_size = 0;
  bool in_flight = false;
  bool in_memory = false;  // storage refused it: `memory` holds the payload (unless it is a slice)
  bool unsynced = false;   // written, not yet synced (background_sync): kept even once acknowledged
  bool acked_early = false;  // the broker has it; forgotten as soon as it is synced
  std::string memory;
  std::uint64_t cost() const { return record_size + memory.size() + (slice ? slice->length : 0); }
};

}  // namespace assure::uplink
