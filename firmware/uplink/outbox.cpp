#include "uplink/outbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <limits>
#include <string_view>

#include "assure/base/files.hpp"

namespace assure::uplink {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kMagic = 0x31424f41;  // "AOB1" little-endian
constexpr std::size_t kHeader = 32;
constexpr std::uint32_t kMaxBody = 64u << 20;
constexpr std::uint64_t kCompactAbove = 1u << 20;
constexpr std::uint64_t kMostLostNumbers = 1ull << 32;  // more than that in outbox.sequence is not believed

enum Kind : std::uint8_t { kPut = 1, kAck = 2, kMeta = 3 };
enum Flags : std::uint8_t { kQosMask = 3, kRetained = 4, kSlice = 8 };

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i, v >>= 8) out.push_back(static_cast<char>(v & 0xff));
}
std::uint64_t get_le(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

std::uint32_t crc_of(std::string_view header28, std::string_view body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(header28.data()), static_cast<uInt>(header28.size()));
  // (zlib takes a null buffer as "give me the initial value": an empty body must not be passed)
  if (!body.empty()) crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return static_cast<std::uint32_t>(crc);
}

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

struct Parsed {
  Kind kind;
  Lane lane;
  std::uint8_t flags;
  std::uint64_t id, seq;
  std::string_view body;
};

// The record at `at`, if it is whole and its checksum holds.
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

}  // namespace

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
  std::string memory;
  std::uint64_t cost() const { return record_size + memory.size() + (slice ? slice->length : 0); }
};

namespace {

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

// The fields of a put body; false when it does not hold together.
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

}  // namespace

Outbox::Outbox(OutboxOptions options) : options_(std::move(options)), path_(options_.dir / "outbox.journal") {}

Outbox::~Outbox() {
  if (fd_ >= 0) ::close(fd_);
  if (sequence_fd_ >= 0) ::close(sequence_fd_);
}

namespace {

// outbox.sequence: the last event number and its complement, 16 bytes at offset 0.
std::optional<std::uint64_t> read_sequence(int fd) {
  char bytes[16];
  if (fd < 0 || ::pread(fd, bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
  const std::uint64_t seq = get_le(bytes, 8), check = get_le(bytes + 8, 8);
  if (check != ~seq) return std::nullopt;
  return seq;
}

}  // namespace

// Not synced on its own: the journal's sync covers a power cut, and this file is there for the
// journal's damage, which the kernel's writeback has long since put on storage.
void Outbox::note_sequence() {
  if (sequence_fd_ < 0) return;
  std::string bytes;
  put_le(bytes, event_seq_, 8);
  put_le(bytes, ~event_seq_, 8);
  if (::pwrite(sequence_fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    spdlog::debug("outbox: cannot note event number {}: {}", event_seq_, std::strerror(errno));
  }
}

Result<std::unique_ptr<Outbox>> Outbox::open(OutboxOptions options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);  // (on a read-only disk the journal is refused next, and said)
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(options)));
  if (ec) outbox->storage_error_ = fmt::format("cannot make {}: {}", outbox->options_.dir.string(), ec.message());
  if (auto loaded = outbox->load(); !loaded) return std::unexpected(loaded.error());
  return outbox;
}

Result<void> Outbox::load() {
  std::string file;
  if (fs::exists(path_)) {
    const int in = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return fail(Errc::io, fmt::format("outbox: cannot open {}: {}", path_.string(), std::strerror(errno)));
    struct stat st {};
    ::fstat(in, &st);
    auto bytes = read_at(path_, in, 0, static_cast<std::size_t>(st.st_size));
    ::close(in);
    if (!bytes) return fail(Errc::io, "outbox: " + bytes.error().message);
    file = std::move(*bytes);
  }
  std::size_t at = 0, valid_end = 0;
  bool damaged = false;
  while (at < file.size()) {
    const auto parsed = parse_at(file, at);
    if (!parsed) {
      // A torn write (power cut) or a damaged block: find the next whole record, if any.
      std::size_t next = at + 1;
      std::optional<Parsed> found;
      while ((next = file.find(std::string_view("AOB1", 4), next)) != std::string::npos) {
        if ((found = parse_at(file, next))) break;
        ++next;
      }
      ++skipped_;
      if (!found) {
        spdlog::warn("outbox: discarded a torn record at byte {} of {} ({} bytes to the end)", at, path_.string(),
                     file.size() - at);
        break;
      }
      spdlog::warn("outbox: skipped {} damaged bytes at byte {} of {}", next - at, at, path_.string());
      damaged = true;
      at = next;
      continue;
    }
    const std::size_t size = kHeader + parsed->body.size();
    next_id_ = std::max(next_id_, parsed->id + 1);
    event_seq_ = std::max(event_seq_, parsed->seq);
    switch (parsed->kind) {
      case kMeta:
        if (epoch_.empty()) epoch_.assign(parsed->body);
        break;
      case kAck:
        if (auto it = entries_.find(parsed->id); it != entries_.end()) forget(it);
        break;
      case kPut: {
        auto entry = std::make_unique<Entry>();
        std::size_t payload_at = 0;
        if (!read_put(parsed->body, (parsed->flags & kSlice) != 0, entry->topic, entry->group, entry->slice,
                      payload_at)) {
          spdlog::warn("outbox: skipped a malformed record at byte {} of {}", at, path_.string());
          ++skipped_;
          break;
        }
        entry->id = parsed->id;
        entry->lane = parsed->lane;
        entry->flags = parsed->flags;
        entry->seq = parsed->seq;
        entry->record_offset = at;
        entry->record_size = size;
        entry->payload_at = kHeader + payload_at;
        entry->payload_size = parsed->body.size() - payload_at;
        if (entries_.count(entry->id) == 0) {
          live_bytes_ += entry->cost();
          ready_[static_cast<int>(entry->lane)].insert(entry->id);
          entries_.emplace(entry->id, std::move(entry));
        }
        break;
      }
    }
    at += size;
    valid_end = at;
  }

  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::string storage_error;
  if (fd_ < 0) {
    // A card the kernel made read-only: what was pending is read already, it is sent from this
    // read-only descriptor, and the device runs on from memory rather than not at all.
    storage_error = !storage_error_.empty()
                        ? std::exchange(storage_error_, std::string{})
                        : fmt::format("cannot open {} for writing: {}", path_.string(), std::strerror(errno));
    writable_ = false;
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  } else if (valid_end < file.size() && ::ftruncate(fd_, static_cast<off_t>(valid_end)) != 0) {
    return fail(Errc::io, fmt::format("outbox: cannot cut the torn end off {}: {}", path_.string(), std::strerror(errno)));
  }
  file_size_ = valid_end;
  const fs::path sequence_path = options_.dir / "outbox.sequence";
  sequence_fd_ = writable_ ? ::open(sequence_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)
                           : ::open(sequence_path.c_str(), O_RDONLY | O_CLOEXEC);
  const std::uint64_t journal_seq = event_seq_;
  auto noted = read_sequence(sequence_fd_);
  if (noted && *noted > journal_seq + kMostLostNumbers) {
    // No card loses four billion events: the file was written by someone else. Not believed,
    // but ids start afresh all the same.
    spdlog::warn("outbox: outbox.sequence says #{}, the journal #{}: ignored", *noted, journal_seq);
    noted.reset();
    ++skipped_;
  }
  const bool lost_numbers = noted && *noted > journal_seq;
  if (lost_numbers) event_seq_ = *noted;
  const bool damaged_middle = damaged;
  if ((skipped_ > 0 || lost_numbers) && !epoch_.empty()) {
    // Records are gone: whatever they held may have reached the control room, so nothing made
    // from here on may look like them. A new epoch for ids; numbers go on from the highest known.
    spdlog::warn("outbox: {} was damaged (events up to #{} known, the journal holds up to #{}); new epoch, "
                 "numbering goes on from #{}", path_.string(), event_seq_, journal_seq, event_seq_ + 1);
    epoch_ = new_epoch();
    damaged = true;
  }
  if (epoch_.empty()) {
    // A new journal (or one whose first record was lost): a new epoch, so ids never repeat.
    epoch_ = new_epoch();
    damaged = false;  // nothing to rewrite
    if (auto written = append({record(kMeta, Lane::event, 0, next_id_ - 1, event_seq_, epoch_)}, true); !written) {
      if (storage_error.empty()) storage_error = written.error().message;  // (a full disk at first start)
    } else if (auto synced = base::fsync_path(options_.dir, true); !synced) {
      storage_error = synced.error().message;
    }
  }
  if (!entries_.empty()) {
    spdlog::info("outbox: {} message(s) from before the restart to send, oldest first", entries_.size());
  }
  if (!storage_error.empty()) {
    storage_failed(storage_error);
  } else if (damaged) {
    if (auto compacted = compact(); !compacted) return compacted;
  }
  note_sequence();
  if (lost_numbers || damaged_middle) {
    OutboxLoss loss;
    loss.epoch = epoch_;
    loss.events = lost_numbers ? event_seq_ - journal_seq : 0;
    loss.reason = fmt::format("the outbox journal was damaged: {} record(s) unreadable{}", skipped_,
                              lost_numbers ? fmt::format(", events #{} to #{} among them", journal_seq + 1, event_seq_)
                                           : std::string{});
    raise_loss(loss);
  }
  return {};
}

Result<void> Outbox::append(const std::vector<std::string>& records, bool sync) {
  if (!writable_) return fail(Errc::io, "outbox: the journal cannot be written: " + storage_error_);
  std::string bytes;
  for (const auto& r : records) bytes += r;
  if (auto written = write_all(fd_, bytes, path_); !written) {
    // Leave no half record behind for the next append to follow.
    if (::ftruncate(fd_, static_cast<off_t>(file_size_)) != 0) {
      spdlog::error("outbox: cannot cut a failed write off {}", path_.string());
    }
    return written;
  }
  file_size_ += bytes.size();
  if (sync && ::fdatasync(fd_) != 0) {
    return fail(Errc::io, fmt::format("outbox: cannot sync {} to storage: {}", path_.string(), std::strerror(errno)));
  }
  return {};
}

std::uint64_t Outbox::last_event_seq() const {
  std::lock_guard lock(mutex_);
  return event_seq_;
}

Result<void> Outbox::store(Lane lane, std::vector<OutboxMessage>& messages, std::uint64_t seq) {
  // Room first: making it may queue a loss event, which takes the next id.
  std::uint64_t cost = 0;
  for (const auto& m : messages) {
    std::uint64_t payload_at = 0;
    cost += kHeader + put_body(m, payload_at).size() + (m.slice ? m.slice->length : 0);
  }
  if (auto room = make_room(cost, lane, seq != 0); !room) return room;
  std::vector<std::string> records;
  std::vector<std::unique_ptr<Entry>> made;
  for (auto& m : messages) {
    auto entry = std::make_unique<Entry>();
    entry->id = next_id_ + made.size();
    entry->lane = lane;
    entry->flags = static_cast<std::uint8_t>((m.qos & kQosMask) | (m.retained ? kRetained : 0) | (m.slice ? kSlice : 0));
    entry->seq = seq;
    entry->topic = m.topic;
    entry->group = m.group;
    entry->slice = m.slice;
    std::uint64_t payload_at = 0;
    records.push_back(record(kPut, lane, entry->flags, entry->id, seq, put_body(m, payload_at)));
    entry->record_size = records.back().size();
    entry->payload_at = payload_at;
    entry->payload_size = m.slice ? 0 : m.payload.size();
    made.push_back(std::move(entry));
  }
  const std::uint64_t base = file_size_;  // after any records make_room appended
  const auto written = append(records, true);
  if (!written) {
    // Storage refused it: it is sent from memory all the same (and lost only if the device
    // restarts before the broker has it).
    for (std::size_t i = 0; i < made.size(); ++i) {
      made[i]->in_memory = true;
      made[i]->record_size = 0;
      if (!messages[i].slice) made[i]->memory = messages[i].payload;
    }
  }
  next_id_ += made.size();
  std::uint64_t at = base;
  for (auto& entry : made) {
    entry->record_offset = at;
    at += entry->record_size;
    live_bytes_ += entry->cost();
    const auto id = entry->id;
    ready_[static_cast<int>(lane)].insert(id);
    entries_.emplace(id, std::move(entry));
  }
  // Numbered before anything below can raise an event of its own, which takes the next number.
  if (seq != 0) {
    event_seq_ = std::max(event_seq_, seq);
    note_sequence();
  }
  if (!written) storage_failed(written.error().message);
  else if (!storage_error_.empty()) storage_works();
  return {};
}

// The outbox's own events (a loss, a storage failure): small, so stored past the quota rather
// than lost, and numbered like any event.
void Outbox::store_own_event(const std::function<OutboxMessage(std::uint64_t seq)>& build) {
  const std::uint64_t seq = event_seq_ + 1;
  std::vector<OutboxMessage> one{build(seq)};
  const auto saved_quota = std::exchange(options_.quota_bytes, std::numeric_limits<std::uint64_t>::max());
  if (auto stored = store(Lane::event, one, seq); !stored) {
    spdlog::error("outbox: cannot record its own event: {}", stored.error().message);
  }
  options_.quota_bytes = saved_quota;
}

void Outbox::storage_failed(const std::string& error) {
  if (!storage_error_.empty()) return;  // said once for each time it fails
  storage_error_ = error;
  spdlog::critical("outbox: STORAGE FAILED: {}; messages are kept in memory only until the broker has them",
                   error);
  if (!options_.storage_event) return;
  store_own_event([&](std::uint64_t seq) { return options_.storage_event(seq, epoch_, true, error); });
}

void Outbox::storage_works() {
  const std::string was = std::exchange(storage_error_, std::string{});
  spdlog::warn("outbox: storage works again (it had failed: {})", was);
  if (!options_.storage_event) return;
  store_own_event([&](std::uint64_t seq) { return options_.storage_event(seq, epoch_, false, was); });
}

Result<std::uint64_t> Outbox::add_event(const std::function<OutboxMessage(std::uint64_t seq)>& build) {
  std::lock_guard lock(mutex_);
  // Room first: a loss event raised while making it takes the next number.
  {
    const OutboxMessage tentative = build(event_seq_ + 1);
    std::uint64_t payload_at = 0;
    if (auto room = make_room(kHeader + put_body(tentative, payload_at).size() + 32, Lane::event, true); !room) {
      return std::unexpected(room.error());
    }
  }
  const std::uint64_t seq = event_seq_ + 1;
  std::vector<OutboxMessage> one{build(seq)};
  if (auto stored = store(Lane::event, one, seq); !stored) return std::unexpected(stored.error());
  return seq;
}

Result<void> Outbox::add(Lane lane, std::vector<OutboxMessage> messages) {
  if (messages.empty()) return {};
  std::lock_guard lock(mutex_);
  return store(lane, messages, 0);
}

// Frees quota for `needed` bytes: whole clips first, oldest first; then (for the event lane)
// snapshots; then (only for an event) the oldest events. What went is reported by one loss event.
Result<void> Outbox::make_room(std::uint64_t needed, Lane lane, bool for_event) {
  if (live_bytes_ + needed <= options_.quota_bytes) return {};
  if (needed > options_.quota_bytes) {
    return fail(Errc::invalid_argument,
                fmt::format("outbox: a message of {} bytes is larger than the whole quota ({} bytes)", needed,
                            options_.quota_bytes));
  }
  OutboxLoss loss;
  loss.epoch = epoch_;
  loss.reason = fmt::format("the outbox quota ({} bytes) was full", options_.quota_bytes);
  auto oldest_group = [&](std::string_view prefix) -> std::string {
    for (const auto& [id, entry] : entries_) {
      if (entry->group.starts_with(prefix)) return entry->group;
    }
    return {};
  };
  // Once something goes, room is kept for the event that reports it too.
  constexpr std::uint64_t kLossEventRoom = 512;
  auto over = [&] {
    const bool lost = !loss.groups.empty() || loss.events > 0;
    return live_bytes_ + needed + (lost ? kLossEventRoom : 0) > options_.quota_bytes;
  };
  while (over()) {
    std::string victim = oldest_group("clip:");
    if (victim.empty() && lane == Lane::event) victim = oldest_group("snapshot:");
    if (!victim.empty()) {
      drop_group(victim, loss);
      continue;
    }
    if (!for_event) break;  // a snapshot or a clip never pushes out an event
    // Only events are left, and a new event must still be kept: the oldest one goes.
    auto oldest = std::find_if(entries_.begin(), entries_.end(),
                               [](const auto& e) { return e.second->lane == Lane::event; });
    if (oldest == entries_.end()) break;
    (void)append({record(kAck, oldest->second->lane, 0, oldest->first, 0, {})}, false);
    forget(oldest);
    ++loss.events;
  }
  const bool fits = live_bytes_ + needed <= options_.quota_bytes;
  const std::uint64_t used = live_bytes_;
  if (!loss.groups.empty() || loss.events > 0) raise_loss(loss);
  if (!fits) {
    return fail(Errc::unavailable, fmt::format("outbox: full ({} of {} bytes) and nothing older may give way",
                                               used, options_.quota_bytes));
  }
  return {};
}

void Outbox::drop_group(const std::string& group, OutboxLoss& loss) {
  std::vector<std::string> drops;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second->group == group) {
      drops.push_back(record(kAck, it->second->lane, 0, it->first, 0, {}));
      it = forget(it);
    } else {
      ++it;
    }
  }
  if (auto written = append(drops, false); !written) spdlog::error("{}", written.error().message);
  loss.groups.push_back(group);
  spdlog::error("outbox: dropped {}: {}", group, loss.reason);
}

// The loss is itself an event.
void Outbox::raise_loss(const OutboxLoss& loss) {
  ++losses_;
  if (!options_.loss_event || raising_loss_) return;
  raising_loss_ = true;
  store_own_event([&](std::uint64_t seq) { return options_.loss_event(seq, loss); });
  raising_loss_ = false;
}

std::optional<Outbox::Taken> Outbox::take() {
  std::lock_guard lock(mutex_);
  for (auto& ready : ready_) {  // the event lane first
    if (ready.empty()) continue;
    const auto it = entries_.find(*ready.begin());
    Entry& e = *it->second;
    Taken taken;
    taken.id = e.id;
    taken.message.topic = e.topic;
    taken.message.qos = e.flags & kQosMask;
    taken.message.retained = (e.flags & kRetained) != 0;
    Result<std::string> payload = std::string{};
    if (e.slice) {
      const int in = ::open(e.slice->file.c_str(), O_RDONLY | O_CLOEXEC);
      payload = in < 0 ? fail(Errc::io, fmt::format("cannot open {}: {}", e.slice->file.string(), std::strerror(errno)))
                       : read_at(e.slice->file, in, e.slice->offset, e.slice->length);
      if (in >= 0) ::close(in);
    } else if (e.in_memory) {
      payload = e.memory;
    } else {
      payload = read_at(path_, fd_, e.record_offset + e.payload_at, e.payload_size);
    }
    if (!payload) {
      // Nothing can bring these bytes back: say so, drop what belongs with them, go on.
      spdlog::error("outbox: message {} to {} cannot be read: {}", e.id, e.topic, payload.error().message);
      OutboxLoss loss;
      loss.epoch = epoch_;
      loss.reason = payload.error().message;
      if (e.group.empty()) {
        (void)append({record(kAck, e.lane, 0, e.id, 0, {})}, false);
        forget(it);
        ++loss.events;
      } else {
        drop_group(std::string(e.group), loss);
      }
      raise_loss(loss);
      return std::nullopt;  // the caller asks again
    }
    taken.message.payload = std::move(*payload);
    e.in_flight = true;
    ready.erase(ready.begin());
    return taken;
  }
  return std::nullopt;
}

Outbox::EntryMap::iterator Outbox::forget(EntryMap::iterator it) {
  live_bytes_ -= it->second->cost();
  ready_[static_cast<int>(it->second->lane)].erase(it->first);
  return entries_.erase(it);
}

void Outbox::acked(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  // Not synced: an ack lost to a power cut only means the message is sent once more.
  if (!it->second->in_memory) {
    if (auto written = append({record(kAck, it->second->lane, 0, id, 0, {})}, false); !written) {
      if (storage_error_.empty()) spdlog::error("{}", written.error().message);
    }
  }
  forget(it);
  maybe_compact();
}

void Outbox::retry(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(id); it != entries_.end() && it->second->in_flight) {
    it->second->in_flight = false;
    ready_[static_cast<int>(it->second->lane)].insert(id);
  }
}

void Outbox::retry_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, entry] : entries_) {
    if (!entry->in_flight) continue;
    entry->in_flight = false;
    ready_[static_cast<int>(entry->lane)].insert(id);
  }
}

OutboxStats Outbox::stats() const {
  std::lock_guard lock(mutex_);
  OutboxStats s;
  s.pending = entries_.size();
  for (const auto& [id, entry] : entries_) {
    if (entry->in_flight) ++s.in_flight;
    if (entry->lane == Lane::event) ++s.events;
    if (entry->in_memory) ++s.in_memory;
  }
  s.bytes = live_bytes_;
  s.journal_bytes = file_size_;
  s.skipped_records = skipped_;
  s.losses = losses_;
  s.storage_error = storage_error_;
  return s;
}

void Outbox::maybe_compact() {
  if (!storage_error_.empty()) return;
  // live_bytes_ counts clip slices too, which only makes compaction lazier while clips wait.
  if (file_size_ < kCompactAbove || file_size_ < 4 * (live_bytes_ + kHeader)) return;
  if (auto done = compact(); !done) spdlog::error("{}", done.error().message);
}

// Rewrites the journal with only what is pending, behind a new meta record; the old file is
// replaced by rename, so a crash in between leaves one or the other whole.
Result<void> Outbox::compact() {
  const fs::path next = path_.string() + ".new";
  const int out = ::open(next.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return fail(Errc::io, fmt::format("outbox: cannot write {}: {}", next.string(), std::strerror(errno)));
  std::string bytes = record(kMeta, Lane::event, 0, next_id_ - 1, event_seq_, epoch_);
  std::vector<std::pair<Entry*, std::uint64_t>> moved;
  for (auto& [id, entry] : entries_) {
    if (entry->in_memory) continue;  // never on storage; sent from memory
    auto old = read_at(path_, fd_, entry->record_offset, entry->record_size);
    if (!old) {
      ::close(out);
      return fail(Errc::io, "outbox: compaction: " + old.error().message);
    }
    moved.emplace_back(entry.get(), bytes.size());
    bytes += *old;
  }
  auto written = write_all(out, bytes, next);
  const bool synced = written && ::fdatasync(out) == 0;
  ::close(out);
  if (!written || !synced) return fail(Errc::io, fmt::format("outbox: cannot write {} whole", next.string()));
  std::error_code ec;
  fs::rename(next, path_, ec);
  if (ec) return fail(Errc::io, fmt::format("outbox: cannot replace {}: {}", path_.string(), ec.message()));
  (void)base::fsync_path(options_.dir, true);
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, fmt::format("outbox: cannot reopen {}: {}", path_.string(), std::strerror(errno)));
  ::close(fd_);
  fd_ = fd;
  file_size_ = bytes.size();
  for (auto& [entry, offset] : moved) entry->record_offset = offset;
  return {};
}

}  // namespace assure::uplink
