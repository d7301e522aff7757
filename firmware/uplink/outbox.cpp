#include "assure/firmware/uplink/outbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>

#include "assure/base/files.hpp"
#include "uplink/journal.hpp"

namespace assure::uplink {
namespace fs = std::filesystem;
using namespace journal;

Outbox::Outbox(OutboxOptions options) : options_(std::move(options)), path_(options_.dir / "outbox.journal") {}

Outbox::~Outbox() {
  if (fd_ >= 0) ::close(fd_);
  if (sequence_fd_ >= 0) ::close(sequence_fd_);
}

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
  const auto written = append(records, !options_.background_sync);
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
    if (written && options_.background_sync) {
      entry->unsynced = true;
      unsynced_.push_back(id);
    }
    ready_[static_cast<int>(lane)].insert(id);
    entries_.emplace(id, std::move(entry));
  }
  // Numbered before anything below can raise an event of its own, which takes the next number.
  if (seq != 0) {
    event_seq_ = std::max(event_seq_, seq);
    note_sequence();
  }
  if (!written) storage_failed(written.error().message);
  else if (!storage_error_.empty() && !options_.background_sync) storage_works();  // else: once synced
  return {};
}

bool Outbox::unsynced() const {
  std::lock_guard lock(mutex_);
  return !unsynced_.empty();
}

Result<void> Outbox::sync(bool force) {
  Result<void> synced;
  {
    std::lock_guard one(compacting_);  // never between a compaction's rename and its directory sync
    synced = sync_written(force);
  }
  (void)compact_if_due();  // (it says what failed; the old journal goes on)
  return synced;
}

Result<void> Outbox::sync_written(bool force) {
  std::unique_lock lock(mutex_);
  if (unsynced_.empty() && !force) return {};
  const std::vector<std::uint64_t> ids = std::exchange(unsynced_, {});
  // A descriptor of its own: a compaction meanwhile may replace fd_ (it syncs what it copies).
  const int fd = ::dup(fd_);
  lock.unlock();
  const int error = fd < 0 || ::fdatasync(fd) != 0 ? errno : 0;
  if (fd >= 0) ::close(fd);
  lock.lock();
  for (const auto id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;  // dropped for room meanwhile
    Entry& e = *it->second;
    e.unsynced = false;
    if (error != 0 && !e.in_memory) {
      // Not known to be on storage: keep the bytes in memory until the broker has them.
      if (!e.slice) {
        auto payload = read_at(path_, fd_, e.record_offset + e.payload_at, e.payload_size);
        if (!payload) continue;  // still in the journal's pages, the only copy there is
        live_bytes_ -= e.cost();
        e.memory = std::move(*payload);
      } else {
        live_bytes_ -= e.cost();
      }
      e.in_memory = true;
      e.record_size = 0;
      live_bytes_ += e.cost();
    }
    if (e.acked_early) {
      if (!e.in_memory) (void)append({record(kAck, e.lane, 0, e.id, 0, {})}, false);
      forget(it);
    }
  }
  if (error != 0) {
    const std::string what = fmt::format("outbox: cannot sync {} to storage: {}", path_.string(), std::strerror(error));
    storage_failed(what);
    return fail(Errc::io, what);
  }
  if (!storage_error_.empty()) storage_works();
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
  forget_acked(id);
  // Synced in the background, it is compacted there; else here, outside the lock.
  if (!options_.background_sync) (void)compact_if_due();
}

void Outbox::forget_acked(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (it->second->unsynced) {  // forgotten once synced (sync()), never sent again meanwhile
    it->second->acked_early = true;
    it->second->in_flight = false;
    return;
  }
  // Not synced: an ack lost to a power cut only means the message is sent once more.
  if (!it->second->in_memory) {
    if (auto written = append({record(kAck, it->second->lane, 0, id, 0, {})}, false); !written) {
      if (storage_error_.empty()) spdlog::error("{}", written.error().message);
    }
  }
  forget(it);
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

bool Outbox::pending_group(std::string_view group) const {
  std::lock_guard lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.second->group == group; });
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

bool Outbox::compaction_due() const {
  // live_bytes_ counts clip slices too, which only makes compaction lazier while clips wait.
  return writable_ && storage_error_.empty() && file_size_ >= kCompactAbove && file_size_ >= 4 * (live_bytes_ + kHeader);
}

// Rewrites the journal with only what is pending, behind a new meta record; the old file is
// replaced by rename, so a crash in between leaves one or the other whole. The copy is written and
// synced outside the lock (on a slow SD card each sync is 20-80 ms, and an alarm must not wait for
// it): what is added or acknowledged meanwhile is appended to the old file as usual, and its bytes
// follow the copy before the swap.
Result<void> Outbox::compact_if_due() { return compact(true); }

Result<void> Outbox::compact(bool only_if_due) {
  std::lock_guard one(compacting_);
  std::unique_lock lock(mutex_);
  if (only_if_due && !compaction_due()) return {};
  const fs::path next = path_.string() + ".new";
  const int out = ::open(next.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return fail(Errc::io, fmt::format("outbox: cannot write {}: {}", next.string(), std::strerror(errno)));
  int out_fd = out;
  auto give_up = [&](const std::string& why) {
    if (out_fd >= 0) ::close(out_fd);
    std::error_code ec;
    fs::remove(next, ec);
    return fail(Errc::io, "outbox: compaction: " + why);
  };
  std::string bytes = record(kMeta, Lane::event, 0, next_id_ - 1, event_seq_, epoch_);
  std::map<std::uint64_t, std::uint64_t> moved;  // id -> its record's offset in the new file
  for (auto& [id, entry] : entries_) {
    if (entry->in_memory) continue;  // never on storage; sent from memory
    auto old = read_at(path_, fd_, entry->record_offset, entry->record_size);
    if (!old) return give_up(old.error().message);
    moved.emplace(id, bytes.size());
    bytes += *old;
  }
  // Everything in the old file from here on is copied as it is, after the live records.
  const std::uint64_t tail_from = file_size_;
  const std::uint64_t tail_to = bytes.size();
  std::uint64_t copied = tail_from;
  std::uint64_t new_size = 0;
  auto write_synced = [&](const std::string& chunk, bool sync) -> Result<void> {
    if (auto written = write_all(out, chunk, next); !written) return written;
    new_size += chunk.size();
    if (sync && ::fdatasync(out) != 0) return fail(Errc::io, fmt::format("cannot sync {}: {}", next.string(), std::strerror(errno)));
    return {};
  };
  // The live records, then what came meanwhile, outside the lock while there is much of it.
  for (int round = 0; round < 3 && (round == 0 || bytes.size() > (64u << 10)); ++round) {
    lock.unlock();
    auto written = write_synced(bytes, true);
    lock.lock();
    if (!written) return give_up(written.error().message);
    if (!writable_ || !storage_error_.empty()) return give_up("the journal failed meanwhile");
    auto tail = read_at(path_, fd_, copied, file_size_ - copied);
    if (!tail) return give_up(tail.error().message);
    copied = file_size_;
    bytes = std::move(*tail);
  }
  // The last few records under the lock. With background sync they need no sync here: no sync()
  // ran meanwhile (it waits for compacting_), so each was still waiting for one, and the next
  // sync() covers them in the new file. Synced as they were written, they are synced here too.
  if (auto last = write_synced(bytes, !options_.background_sync); !last) return give_up(last.error().message);
  ::close(std::exchange(out_fd, -1));
  std::error_code ec;
  fs::rename(next, path_, ec);
  if (ec) return give_up(fmt::format("cannot replace {}: {}", path_.string(), ec.message()));
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    // The new file is the journal now, complete; without a descriptor nothing more can be added.
    storage_failed(fmt::format("outbox: cannot reopen {}: {}", path_.string(), std::strerror(errno)));
    return fail(Errc::io, storage_error_);
  }
  ::close(fd_);
  fd_ = fd;
  file_size_ = new_size;
  for (auto& [id, entry] : entries_) {
    if (entry->in_memory) continue;
    if (auto it = moved.find(id); it != moved.end()) {
      entry->record_offset = it->second;
    } else if (entry->record_offset >= tail_from) {
      entry->record_offset = entry->record_offset - tail_from + tail_to;
    }
  }
  lock.unlock();
  // The rename on storage before anything added to the new file can be called synced (sync()
  // waits for this lock): a power cut before it leaves the old journal, whole.
  (void)base::fsync_path(options_.dir, true);
  return {};
}

}  // namespace assure::uplink
