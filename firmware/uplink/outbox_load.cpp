// Opening the outbox: the journal read back after a restart, a power cut or damage.
#include "assure/firmware/uplink/outbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "assure/base/files.hpp"
#include "uplink/journal.hpp"

namespace assure::uplink {
namespace fs = std::filesystem;
using namespace journal;

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
    if (auto compacted = compact(false); !compacted) return compacted;
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

}  // namespace assure::uplink
