#pragma once
// The durable outbox: every event, snapshot and clip chunk is written to an on-disk journal
// before it is published and is forgotten only when the broker has acknowledged it. It survives a
// broker outage, a hung link, a crash at any instruction (SIGKILL) and a power cut: records are
// checksummed, a torn or corrupt record is skipped with a log line and never stops the device,
// and what was not acknowledged is sent again, in order, after a restart or a reconnection.
// Duplicates after a crash are allowed; the receiver removes them by id.
//
// When storage fails (a card remounted read-only, a full disk, a failing sync) nothing is
// refused: messages are kept in memory and sent all the same, the failure is reported by an
// event of its own and in stats(), and the journal is used again once a write succeeds.
//
// Event numbers never go backwards: besides the journal, the last number is written to
// `outbox.sequence` as each event is stored, and after any damage to the journal the outbox takes
// a new epoch, so no id it makes can be one the control room has seen.
//
// Two lanes: events (and their snapshots) go before clip data, so an alarm never waits behind a
// clip. Storage is bounded by a quota; when it is full the oldest clip goes first (all of its
// pending chunks), then the oldest snapshot, then the oldest event, and every loss is reported
// by an event of its own.
//
// The journal (`outbox.journal`): records of a 32-byte header (magic, kind, lane, flags, id,
// event sequence number, body length, CRC-32 of header and body) and a body. A "put" carries a
// message, an "ack" names one that was delivered, a "meta" opens the file with the outbox's epoch
// and the last event number. Acknowledged records are dropped when the file is rewritten
// (compaction), which happens when most of it is dead.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"

namespace assure::uplink {

enum class Lane : std::uint8_t { event = 0, clip = 1 };

// Bytes of a file, read when the message is sent: a finished clip is on disk already and is not
// copied into the journal; its manifest carries the hash of every chunk.
struct FileSlice {
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
};

struct OutboxMessage {
  std::string topic;
  std::string payload;              // the bytes, unless `slice` says where they are
  std::optional<FileSlice> slice;
  int qos = 1;
  bool retained = false;
  // Messages that stand or fall together under the quota ("clip:<id>", "snapshot:<event id>").
  std::string group;
};

// What the quota made the outbox give up, for the loss event.
struct OutboxLoss {
  std::vector<std::string> groups;  // whole clips and snapshots dropped, by group
  std::uint64_t events = 0;         // events dropped (only when events alone overflow the quota)
  std::string reason;
  std::string epoch;  // of the outbox, for the loss event's id
};

struct OutboxOptions {
  std::filesystem::path dir;
  std::uint64_t quota_bytes = 256ull << 20;
  // Makes the event that reports a loss (it is then queued like any event).
  std::function<OutboxMessage(std::uint64_t seq, const OutboxLoss& loss)> loss_event;
  // Makes the event that says storage has failed (failing true: what is queued now lives only in
  // memory until it is delivered) or works again. Queued like any event, in memory if it must be.
  std::function<OutboxMessage(std::uint64_t seq, const std::string& epoch, bool failing, const std::string& error)>
      storage_event;
  // false: every add is synced before it returns. true: adds are written and can be sent at once,
  // and the owner calls sync() (one sync for everything written since: a slow SD card's 20-80 ms
  // never stands between an alarm and the broker); a message is forgotten only once it is both
  // acknowledged and synced.
  bool background_sync = false;
};

struct OutboxStats {
  std::size_t pending = 0;    // not yet acknowledged, in flight included
  std::size_t in_flight = 0;  // handed to the link, no acknowledgement yet
  std::size_t events = 0;     // pending in the event lane
  std::uint64_t bytes = 0;    // counted against the quota
  std::uint64_t journal_bytes = 0;
  std::uint64_t skipped_records = 0;  // torn or corrupt records found since open
  std::uint64_t losses = 0;           // loss events raised since open
  std::size_t in_memory = 0;          // pending messages storage refused: kept in memory only
  std::string storage_error;          // empty while the journal can be written
};

class Outbox {
 public:
  // Opens (or makes) the journal in options.dir and reads back what was not acknowledged.
  static Result<std::unique_ptr<Outbox>> open(OutboxOptions options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Random, made with the journal: event ids carry it, so a device whose storage was wiped never
  // reuses an id the control room has seen.
  const std::string& epoch() const { return epoch_; }
  std::uint64_t last_event_seq() const;

  // An event: `build` gets its sequence number (one more than the last, across restarts) and
  // makes the message. On storage before this returns (written, and synced unless background_sync).
  Result<std::uint64_t> add_event(const std::function<OutboxMessage(std::uint64_t seq)>& build);
  // Messages for one lane, in order, on storage (one sync for them all, unless background_sync)
  // before this returns.
  Result<void> add(Lane lane, std::vector<OutboxMessage> messages);

  struct Taken {
    std::uint64_t id = 0;
    Outgoing message;
  };
  // The oldest message not yet handed out, events first; it is in flight until acked or retried.
  // A message whose file slice cannot be read any more is dropped, with its group, as a loss.
  std::optional<Taken> take();
  // Syncs what was written since the last sync (background_sync), outside the outbox's lock, so
  // messages keep being added and sent meanwhile. A failed sync is a storage failure: what it
  // covered is kept in memory, said by the storage event, until the broker has it.
  // force: sync the journal even when nothing waits (another thread's sync may be under way):
  // everything added before the call is on storage when it returns.
  Result<void> sync(bool force = false);
  bool unsynced() const;  // something written waits for sync()
  // Rewrites the journal with only what is pending once it is mostly acknowledged records. The
  // copy and its syncs run outside the outbox's lock: adding and sending go on meanwhile. Done
  // after each sync and (without background_sync) each acknowledgement; the Syncer calls it too.
  Result<void> compact_if_due();
  void acked(std::uint64_t id);   // the broker has it: forget it (a late or repeated ack is harmless)
  void retry(std::uint64_t id);   // not delivered: send it again, in its place
  void retry_all();               // the connection was lost: everything in flight is sent again

  OutboxStats stats() const;
  // Something of this group (a clip's "clip:<id>") is still waiting for the broker.
  bool pending_group(std::string_view group) const;
  const std::filesystem::path& journal() const { return path_; }

 private:
  struct Entry;
  explicit Outbox(OutboxOptions options);
  Result<void> load();
  Result<void> append(const std::vector<std::string>& records, bool sync);
  Result<void> store(Lane lane, std::vector<OutboxMessage>& messages, std::uint64_t seq);
  Result<void> make_room(std::uint64_t needed, Lane lane, bool for_event);
  void drop_group(const std::string& group, OutboxLoss& loss);
  void raise_loss(const OutboxLoss& loss);
  void store_own_event(const std::function<OutboxMessage(std::uint64_t seq)>& build);
  void storage_failed(const std::string& error);
  void storage_works();
  void note_sequence();
  bool compaction_due() const;
  Result<void> compact(bool only_if_due);
  Result<void> sync_written(bool force);
  void forget_acked(std::uint64_t id);

  OutboxOptions options_;
  std::filesystem::path path_;
  std::string epoch_;
  mutable std::mutex mutex_;
  std::mutex compacting_;  // one compaction at a time, and no sync between its rename and dir sync
  int fd_ = -1;
  std::uint64_t file_size_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t event_seq_ = 0;
  using EntryMap = std::map<std::uint64_t, std::unique_ptr<Entry>>;
  EntryMap::iterator forget(EntryMap::iterator it);  // drops an entry from memory (not the journal)
  EntryMap entries_;                 // by id: the order of sending
  std::set<std::uint64_t> ready_[2];  // per lane: pending and not in flight
  std::uint64_t live_bytes_ = 0;  // journal bytes of pending records, plus their file slices
  std::uint64_t skipped_ = 0;
  std::uint64_t losses_ = 0;
  bool raising_loss_ = false;
  std::string storage_error_;  // empty: the journal is being written
  int sequence_fd_ = -1;
  bool writable_ = true;  // false: the journal could only be opened for reading
  std::vector<std::uint64_t> unsynced_;  // ids written since the last sync (background_sync)
};

}  // namespace assure::uplink
