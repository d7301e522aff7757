// The durable outbox on real files: order, restarts, torn and damaged records, a crash at any
// point (a child process SIGKILLed while it writes), the quota policy and compaction.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "support.hpp"
#include "assure/firmware/uplink/outbox.hpp"
#include "assure/firmware/uplink/syncer.hpp"

using namespace assure;
using namespace assure::uplink;

namespace {

OutboxMessage event_message(std::uint64_t seq) {
  return OutboxMessage{.topic = "t/event", .payload = "event " + std::to_string(seq)};
}

std::unique_ptr<Outbox> open_at(const std::filesystem::path& dir, std::uint64_t quota = 256ull << 20,
                                std::vector<OutboxLoss>* losses = nullptr) {
  OutboxOptions options;
  options.dir = dir;
  options.quota_bytes = quota;
  options.loss_event = [losses](std::uint64_t seq, const OutboxLoss& loss) {
    if (losses != nullptr) losses->push_back(loss);
    return OutboxMessage{.topic = "t/event", .payload = "loss " + std::to_string(seq)};
  };
  auto opened = Outbox::open(options);
  EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
  return opened ? std::move(*opened) : nullptr;
}

// Takes everything that is ready, in order, acknowledging as it goes unless told otherwise.
std::vector<std::string> drain(Outbox& outbox, bool ack = true) {
  std::vector<std::string> out;
  while (auto taken = outbox.take()) {
    out.push_back(taken->message.payload);
    if (ack) outbox.acked(taken->id);
  }
  return out;
}

}  // namespace

TEST(Outbox, WhatIsNotAcknowledgedComesBackAfterARestartInOrderAndNumberingGoesOn) {
  test::TempDir dir;
  std::string epoch;
  {
    auto outbox = open_at(dir.path());
    epoch = outbox->epoch();
    EXPECT_EQ(epoch.size(), 8u);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(outbox->add_event(event_message));
    auto first = outbox->take();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->message.payload, "event 1");
    EXPECT_EQ(first->message.qos, 1);
    outbox->acked(first->id);
    auto second = outbox->take();  // in flight when the device dies: sent again after
    ASSERT_TRUE(second);
    EXPECT_EQ(outbox->stats().in_flight, 1u);
  }
  auto outbox = open_at(dir.path());
  EXPECT_EQ(outbox->epoch(), epoch);
  EXPECT_EQ(outbox->last_event_seq(), 5u);
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 2", "event 3", "event 4", "event 5"}));
  auto next = outbox->add_event(event_message);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 6u);
}

TEST(Outbox, EventsGoBeforeClipDataAndARetriedMessageKeepsItsPlace) {
  test::TempDir dir;
  auto outbox = open_at(dir.path());
  std::vector<OutboxMessage> chunks;
  for (int i = 0; i < 3; ++i) chunks.push_back({.topic = "t/clip", .payload = "chunk " + std::to_string(i), .group = "clip:a"});
  ASSERT_TRUE(outbox->add(Lane::clip, chunks));
  ASSERT_TRUE(outbox->add_event(event_message));
  auto event = outbox->take();
  auto chunk0 = outbox->take();
  ASSERT_TRUE(event && chunk0);
  EXPECT_EQ(event->message.payload, "event 1");
  EXPECT_EQ(chunk0->message.payload, "chunk 0");
  outbox->acked(event->id);
  outbox->retry(chunk0->id);  // the broker refused it: it goes again before chunk 1
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"chunk 0", "chunk 1", "chunk 2"}));
}

TEST(Outbox, ALostConnectionSendsEverythingInFlightAgainInOrder) {
  test::TempDir dir;
  auto outbox = open_at(dir.path());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(outbox->add_event(event_message));
  EXPECT_EQ(drain(*outbox, false).size(), 4u);
  EXPECT_FALSE(outbox->take());
  outbox->retry_all();
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 1", "event 2", "event 3", "event 4"}));
  EXPECT_EQ(outbox->stats().pending, 0u);
}

TEST(Outbox, ATornLastRecordIsDiscardedWithALogLineNotFatal) {
  test::TempDir dir;
  std::filesystem::path journal;
  {
    auto outbox = open_at(dir.path());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox->add_event(event_message));
    journal = outbox->journal();
  }
  // A power cut in the middle of a fourth record's write: its add_event never returned.
  const std::string whole = test::read_file(journal);
  std::ofstream(journal, std::ios::binary | std::ios::app) << whole.substr(whole.size() - 40, 20);
  std::string epoch;
  {
    auto outbox = open_at(dir.path());
    ASSERT_TRUE(outbox);
    EXPECT_EQ(outbox->stats().skipped_records, 1u);
    EXPECT_EQ(drain(*outbox, false), (std::vector<std::string>{"event 1", "event 2", "event 3"}));
    ASSERT_TRUE(outbox->add_event(event_message));  // numbering follows what was stored, and no loss is claimed
    epoch = outbox->epoch();
  }
  auto outbox = open_at(dir.path());
  EXPECT_EQ(outbox->stats().skipped_records, 0u);  // the torn end was cut off, the new record is whole
  EXPECT_EQ(outbox->epoch(), epoch);
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 1", "event 2", "event 3", "event 4"}));
}

TEST(Outbox, EventNumbersNeverGoBackWhenTheJournalLosesRecordsThatWereStored) {
  test::TempDir dir;
  std::filesystem::path journal;
  std::string epoch;
  {
    auto outbox = open_at(dir.path());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox->add_event(event_message));
    journal = outbox->journal();
    epoch = outbox->epoch();
  }
  // Event 3 was stored (add_event returned: it may be at the control room) and is then lost:
  // the card cut it off, or everything after the first record was zeroed.
  const auto size = std::filesystem::file_size(journal);
  std::filesystem::resize_file(journal, size - 5);
  std::vector<OutboxLoss> losses;
  auto outbox = open_at(dir.path(), 256ull << 20, &losses);
  ASSERT_TRUE(outbox);
  EXPECT_NE(outbox->epoch(), epoch);  // ids from here on cannot be ones already seen
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_EQ(losses[0].events, 1u);  // event 3: its record is gone
  EXPECT_NE(losses[0].reason.find("events #3 to #3"), std::string::npos) << losses[0].reason;
  ASSERT_TRUE(outbox->add_event(event_message));
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 1", "event 2", "loss 4", "event 5"}));

  // The whole journal zeroed after its first record, as the issue found it: numbering still goes on.
  std::string bytes = test::read_file(journal);
  std::fill(bytes.begin() + 40, bytes.end(), '\0');
  std::ofstream(journal, std::ios::binary | std::ios::trunc) << bytes;
  outbox.reset();
  outbox = open_at(dir.path());
  ASSERT_TRUE(outbox->add_event(event_message));
  const auto all = drain(*outbox);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back(), "event 7");  // 6 was the loss this damage raised
}

TEST(Outbox, ADamagedRecordInTheMiddleIsSkippedAndTheOnesAfterItKept) {
  test::TempDir dir;
  std::filesystem::path journal;
  {
    auto outbox = open_at(dir.path());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(outbox->add_event(event_message));
    journal = outbox->journal();
  }
  std::string bytes = test::read_file(journal);
  const auto second = bytes.find("event 2");
  ASSERT_NE(second, std::string::npos);
  bytes[second] ^= 0x20;  // one flipped bit: its checksum no longer holds
  std::ofstream(journal, std::ios::binary | std::ios::trunc) << bytes;
  auto outbox = open_at(dir.path());
  ASSERT_TRUE(outbox);
  EXPECT_EQ(outbox->stats().skipped_records, 1u);
  // ... and the loss is said: that record was stored and may have held an alarm.
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 1", "event 3", "event 4", "loss 5"}));
}

TEST(Outbox, AJournalThatIsNotOneAtAllStartsAfreshWithoutFailing) {
  test::TempDir dir;
  dir.write("outbox.journal", std::string(4096, 'x'));
  auto outbox = open_at(dir.path());
  ASSERT_TRUE(outbox);
  EXPECT_EQ(outbox->stats().pending, 0u);
  ASSERT_TRUE(outbox->add_event(event_message));
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 1"}));
}

TEST(Outbox, ACrashAtAnyPointLosesNothingThatWasStored) {
  // A child adds events as fast as it can and tells the parent each sequence number it got back;
  // it is killed at a moment nobody chose. Every number it reported must come back.
  for (int round = 0; round < 5; ++round) {
    test::TempDir dir;
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      OutboxOptions options;
      options.dir = dir.path();
      auto outbox = Outbox::open(options);
      if (!outbox) ::_exit(3);
      for (;;) {
        auto seq = (*outbox)->add_event(event_message);
        if (!seq) ::_exit(4);
        if (auto taken = (*outbox)->take(); taken && *seq % 3 == 0) (*outbox)->acked(taken->id);
        const std::uint64_t n = *seq;
        if (::write(pipe_fds[1], &n, sizeof n) != sizeof n) ::_exit(5);
      }
    }
    ::close(pipe_fds[1]);
    ::usleep(static_cast<useconds_t>(30000 + round * 17000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed on its own: " << WEXITSTATUS(status);
    std::uint64_t reported = 0, n = 0;
    while (::read(pipe_fds[0], &n, sizeof n) == sizeof n) reported = n;
    ::close(pipe_fds[0]);
    ASSERT_GT(reported, 0u);
    auto outbox = open_at(dir.path());
    ASSERT_TRUE(outbox);
    EXPECT_GE(outbox->last_event_seq(), reported);
    // Everything left is in order, no number twice, and nothing stored and unacknowledged missing.
    auto left = drain(*outbox);
    std::uint64_t previous = 0;
    for (const auto& payload : left) {
      const auto seq = std::stoull(payload.substr(6));
      EXPECT_GT(seq, previous);
      previous = seq;
    }
    EXPECT_GE(left.size(), reported / 3);  // at most one in three was acknowledged
  }
}

TEST(Outbox, WhenFullTheOldestClipGoesFirstAndTheLossIsAnEvent) {
  test::TempDir dir;
  std::vector<OutboxLoss> losses;
  auto outbox = open_at(dir.path(), 64 * 1024, &losses);
  const std::string chunk(10 * 1024, 'c');
  for (const char* clip : {"clip:old", "clip:new"}) {
    std::vector<OutboxMessage> chunks;
    for (int i = 0; i < 3; ++i) chunks.push_back({.topic = "t/clip", .payload = chunk, .group = clip});
    ASSERT_TRUE(outbox->add(Lane::clip, chunks));
  }
  // An event and its snapshot that need room: the old clip makes it, the new one stays.
  ASSERT_TRUE(outbox->add_event(event_message));
  ASSERT_TRUE(outbox->add(Lane::event, {{.topic = "t/snapshot", .payload = std::string(15 * 1024, 's'), .group = "snapshot:1"}}));
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_EQ(losses[0].groups, (std::vector<std::string>{"clip:old"}));
  EXPECT_EQ(losses[0].events, 0u);
  const auto sent = drain(*outbox);
  ASSERT_EQ(sent.size(), 6u);  // the event, the snapshot, the loss event, the new clip's three chunks
  EXPECT_EQ(sent[0], "event 1");
  EXPECT_EQ(sent[1], "loss 2");  // raised as the snapshot's room was made
  EXPECT_EQ(sent[2].size(), 15u * 1024);
  EXPECT_EQ(outbox->stats().losses, 1u);
}

TEST(Outbox, EventsOutrankClipsAndSnapshotsAndGoOnlyWhenNothingElseIsLeft) {
  test::TempDir dir;
  std::vector<OutboxLoss> losses;
  auto outbox = open_at(dir.path(), 4 * 1024, &losses);
  // A clip never pushes out an event: it is refused instead.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(outbox->add_event(event_message));
  auto refused = outbox->add(Lane::clip, {{.topic = "t/clip", .payload = std::string(3 * 1024, 'c'), .group = "clip:x"}});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("outbox: full"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(losses.empty());
  // Nor does a snapshot.
  auto snapshot = outbox->add(Lane::event, {{.topic = "t/snapshot", .payload = std::string(3 * 1024, 's'), .group = "snapshot:9"}});
  ASSERT_FALSE(snapshot);
  EXPECT_TRUE(losses.empty());
  EXPECT_EQ(outbox->stats().events, 20u);
  // Events beyond the quota push out the oldest events, and say so.
  for (int i = 0; i < 120; ++i) {
    auto added = outbox->add_event(event_message);
    ASSERT_TRUE(added) << added.error().message;
  }
  ASSERT_FALSE(losses.empty());
  std::uint64_t dropped = 0;
  for (const auto& loss : losses) dropped += loss.events;
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(outbox->stats().bytes, 4u * 1024 + 256);  // a loss event may stand a little past the quota
  const auto sent = drain(*outbox);
  EXPECT_NE(sent.front(), "event 1");  // the oldest went
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(), [](const std::string& p) { return p.rfind("loss", 0) == 0; }),
            static_cast<long>(losses.size()));
}

TEST(Outbox, AFileSliceIsReadWhenSentAndAFileThatVanishedIsALossNotAHang) {
  test::TempDir dir;
  std::vector<OutboxLoss> losses;
  auto outbox = open_at(dir.path() / "outbox", 256ull << 20, &losses);
  const auto clip = dir.write("clip.mp4", "0123456789abcdef");
  ASSERT_TRUE(outbox->add(Lane::clip, {{.topic = "t/c/0", .slice = FileSlice{clip, 0, 10}, .group = "clip:c"},
                                      {.topic = "t/c/1", .slice = FileSlice{clip, 10, 6}, .group = "clip:c"}}));
  auto first = outbox->take();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->message.payload, "0123456789");
  outbox->acked(first->id);
  std::filesystem::remove(clip);
  EXPECT_FALSE(outbox->take());  // unreadable: dropped with its clip, reported
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_EQ(losses[0].groups, (std::vector<std::string>{"clip:c"}));
  EXPECT_NE(losses[0].reason.find("clip.mp4"), std::string::npos) << losses[0].reason;
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"loss 1"}));
}

TEST(Outbox, TheJournalIsCompactedAsMessagesAreAcknowledged) {
  test::TempDir dir;
  auto outbox = open_at(dir.path());
  const std::string big(600, 'x');
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(outbox->add(Lane::event, std::vector<OutboxMessage>(1000, {.topic = "t/e", .payload = big})));
    EXPECT_EQ(drain(*outbox).size(), 1000u);
  }
  ASSERT_TRUE(outbox->add_event(event_message));
  EXPECT_LT(outbox->stats().journal_bytes, 2u << 20);  // 3.6 MB went through it
  outbox.reset();
  auto reopened = open_at(dir.path());
  EXPECT_EQ(drain(*reopened), (std::vector<std::string>{"event 1"}));
}

namespace {

std::unique_ptr<Outbox> open_reporting(const std::filesystem::path& dir, std::vector<std::string>* storage) {
  OutboxOptions options;
  options.dir = dir;
  options.storage_event = [storage](std::uint64_t seq, const std::string&, bool failing, const std::string& error) {
    storage->push_back((failing ? "failed: " : "works: ") + error);
    return OutboxMessage{.topic = "t/event", .payload = (failing ? "storage failed " : "storage works ") + std::to_string(seq)};
  };
  auto opened = Outbox::open(options);
  EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
  return opened ? std::move(*opened) : nullptr;
}

}  // namespace

// The SD card remounted read-only by the kernel (errors=remount-ro), and the device restarted on
// it: it runs, every alarm is still sent, from memory, and it says loudly that it can keep nothing.
TEST(Outbox, OnAReadOnlyDiskEventsAreSentFromMemoryAndTheFailureIsReported) {
  test::SmallFilesystem disk(4u << 20);
  if (!disk.available()) GTEST_SKIP() << disk.why();
  std::vector<std::string> storage;
  {
    auto outbox = open_reporting(disk.path() / "outbox", &storage);
    ASSERT_TRUE(outbox->add_event(event_message));
  }
  ASSERT_TRUE(disk.read_only(true));
  auto outbox = open_reporting(disk.path() / "outbox", &storage);
  ASSERT_TRUE(outbox) << "a read-only disk stopped the device";
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_NE(storage[0].find("Read-only file system"), std::string::npos) << storage[0];
  ASSERT_TRUE(outbox->add_event(event_message)) << "an alarm was refused because the disk is read-only";
  ASSERT_TRUE(outbox->add_event(event_message));
  EXPECT_EQ(storage.size(), 1u);  // said once, not per event
  const auto stats = outbox->stats();
  EXPECT_EQ(stats.in_memory, 3u);  // the storage event and the two events after it
  EXPECT_NE(stats.storage_error.find("Read-only"), std::string::npos);
  EXPECT_EQ(drain(*outbox), (std::vector<std::string>{"event 1", "storage failed 2", "event 3", "event 4"}));
  EXPECT_EQ(outbox->stats().pending, 0u);
  EXPECT_TRUE(disk.read_only(false));
}

TEST(Outbox, OnAFullDiskEventsAreSentFromMemoryAndTheFailureIsReported) {
  test::SmallFilesystem disk(256u << 10);
  if (!disk.available()) GTEST_SKIP() << disk.why();
  std::vector<std::string> storage;
  auto outbox = open_reporting(disk.path() / "outbox", &storage);
  disk.fill();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(outbox->add_event(event_message));  // past the journal's last page
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_NE(storage[0].find("No space left"), std::string::npos) << storage[0];
  EXPECT_GT(outbox->stats().in_memory, 0u);
  const auto sent = drain(*outbox);
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(), [](auto& s) { return s.starts_with("event "); }), 200);
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(), [](auto& s) { return s.starts_with("storage failed"); }), 1);
  // The storage event raised while an event was being stored takes a number of its own.
  std::set<std::string> numbers;
  for (const auto& m : sent) numbers.insert(m.substr(m.rfind(' ') + 1));
  EXPECT_EQ(numbers.size(), sent.size());
}

// outbox.sequence is a file on disk like any other: a number near the top of the range would
// make the next event wrap round to 0.
TEST(Outbox, AnImplausibleSequenceFileIsNotBelievedAndIdsStartAfresh) {
  test::TempDir dir;
  std::string epoch;
  {
    auto outbox = open_at(dir.path());
    ASSERT_TRUE(outbox->add_event(event_message));
    epoch = outbox->epoch();
  }
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(0xff));
  for (int i = 0; i < 8; ++i) bytes.push_back('\0');  // the complement of 2^64-1
  std::ofstream(dir.path() / "outbox.sequence", std::ios::binary | std::ios::trunc) << bytes;
  auto outbox = open_at(dir.path());
  EXPECT_NE(outbox->epoch(), epoch);
  EXPECT_EQ(outbox->last_event_seq(), 1u);
  ASSERT_TRUE(outbox->add_event(event_message));
  EXPECT_EQ(drain(*outbox).back(), "event 2");
}

TEST(Outbox, WithBackgroundSyncAMessageIsSentBeforeItsSyncAndForgottenOnlyOnceBothHappened) {
  test::TempDir dir;
  OutboxOptions options;
  options.dir = dir.path();
  options.background_sync = true;
  {
    auto opened = Outbox::open(options);
    ASSERT_TRUE(opened);
    Outbox& outbox = **opened;
    ASSERT_TRUE(outbox.add_event(event_message));
    ASSERT_TRUE(outbox.add_event(event_message));
    EXPECT_TRUE(outbox.unsynced());
    // Sent at once, before any sync; the broker acknowledges the first.
    auto first = outbox.take();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->message.payload, "event 1");
    outbox.acked(first->id);
    EXPECT_EQ(outbox.stats().pending, 2u) << "acknowledged but not yet synced: still kept";
    outbox.retry_all();  // a reconnection now must not send the acknowledged one again
    auto next = outbox.take();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->message.payload, "event 2");
    EXPECT_FALSE(outbox.take());
    ASSERT_TRUE(outbox.sync());
    EXPECT_FALSE(outbox.unsynced());
    EXPECT_EQ(outbox.stats().pending, 1u) << "synced and acknowledged: forgotten";
    // A third, acknowledged after its sync, goes at once as before.
    ASSERT_TRUE(outbox.add_event(event_message));
    ASSERT_TRUE(outbox.sync());
    auto third = outbox.take();
    ASSERT_TRUE(third);
    outbox.acked(third->id);
    EXPECT_EQ(outbox.stats().pending, 1u);
  }
  // What was synced and not acknowledged (event 2) is there after a restart; the others are not.
  auto reopened = open_at(dir.path());
  EXPECT_EQ(drain(*reopened), (std::vector<std::string>{"event 2"}));
}

TEST(Outbox, WithBackgroundSyncAChildKilledBeforeTheSyncLosesNothingItWrote) {
  // A crash (not a power cut) keeps what was written: the kernel has it, synced or not.
  test::TempDir dir;
  const pid_t child = fork();
  if (child == 0) {
    OutboxOptions options;
    options.dir = dir.path();
    options.background_sync = true;
    auto opened = Outbox::open(options);
    if (!opened) _exit(1);
    for (int i = 0; i < 20; ++i) (void)(*opened)->add_event(event_message);
    ::kill(getpid(), SIGKILL);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto reopened = open_at(dir.path());
  EXPECT_EQ(drain(*reopened).size(), 20u);
}

// The outbox compacts its journal from this size on (journal.hpp, kCompactAbove).
constexpr std::uint64_t kJournalCompactsAbove = 1u << 20;

// Compaction copies the journal outside the outbox's lock while events go on being added and
// acknowledged (a slow SD card's sync must not hold up an alarm). A child does that as fast as it
// can with its Syncer compacting beside it (big payloads, so the journal is compacted every thousand
// events or so) and is killed at a moment nobody chose: every number it was given and did not
// acknowledge comes back, once, in order, and the journal was compacted on the way.
TEST(Outbox, CompactingBesideAddsAndAcksLosesNothingWhenKilledAtAnyPoint) {
  // A round can only show compaction if the child wrote much more than the journal may keep; what
  // it may keep grows with what is pending at the kill, which a sync held up by a compaction under
  // load can make large (a round under ctest -j2 had half of 2,100 events pending). Such a round
  // tells nothing about compaction (it still shows nothing was lost): it is run again, writing twice
  // as much, up to 16 times the trigger.
  for (int round = 0, scale = 2; round < 4;) {
    test::TempDir dir;
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      OutboxOptions options;
      options.dir = dir.path();
      options.background_sync = true;
      auto outbox = Outbox::open(options);
      if (!outbox) ::_exit(3);
      Syncer syncer(**outbox);
      syncer.start();
      const std::string big(1000, 'x');
      for (;;) {
        auto seq = (*outbox)->add_event([&](std::uint64_t n) {
          return OutboxMessage{.topic = "t/event", .payload = "event " + std::to_string(n) + " " + big};
        });
        if (!seq) ::_exit(4);
        syncer.wake();
        // The broker acknowledges nine in ten; the tenth stays pending.
        if (auto taken = (*outbox)->take(); taken && *seq % 10 != 0) (*outbox)->acked(taken->id);
        const std::uint64_t n = *seq;
        if (::write(pipe_fds[1], &n, sizeof n) != sizeof n) ::_exit(5);
        ::usleep(200);  // a busy device, not a disk benchmark: the syncs keep up
      }
    }
    ::close(pipe_fds[1]);
    std::atomic<std::uint64_t> reported_so_far{0};
    std::thread reader([&] {  // read as it comes: a full pipe would stop the child
      std::uint64_t n = 0;
      while (::read(pipe_fds[0], &n, sizeof n) == sizeof n) reported_so_far = n;
    });
    // Killed once well past the size that makes compaction due (however fast this machine is),
    // then a little later each round, so the kill lands at a different point of the cycle.
    const std::uint64_t enough = scale * kJournalCompactsAbove / 1000 + 300 * static_cast<std::uint64_t>(round);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (reported_so_far < enough && std::chrono::steady_clock::now() < give_up) ::usleep(2000);
    ::usleep(static_cast<useconds_t>(round * 37000));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    reader.join();
    ::close(pipe_fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed on its own: " << WEXITSTATUS(status);
    const std::uint64_t reported = reported_so_far;
    ASSERT_GE(reported, enough) << "the child wrote too little in a minute to have compacted";
    auto outbox = open_at(dir.path());
    ASSERT_TRUE(outbox);
    EXPECT_GE(outbox->last_event_seq(), reported);
    const std::uint64_t journal_bytes = outbox->stats().journal_bytes;
    std::set<std::uint64_t> back;
    std::uint64_t previous = 0;
    std::uint64_t pending_bytes = 0;
    for (const auto& payload : drain(*outbox)) {
      pending_bytes += payload.size();
      const auto seq = std::stoull(payload.substr(6, payload.find(' ', 6) - 6));
      EXPECT_GT(seq, previous) << "out of order or twice";
      previous = seq;
      back.insert(seq);
    }
    for (std::uint64_t seq = 10; seq <= reported; seq += 10) {
      ASSERT_TRUE(back.count(seq)) << "event " << seq << " was stored, never acknowledged, and is gone (round " << round << ")";
    }
    // Uncompacted it would hold every payload it was given. Compaction is due once the journal is
    // past the trigger and 4x what is pending, so it never holds much more than that plus what came
    // in while a compaction was copying.
    const std::uint64_t due_at = std::max<std::uint64_t>(kJournalCompactsAbove, 4 * pending_bytes);
    if (due_at + due_at / 4 >= reported * 1000) {
      ASSERT_LT(scale, 16) << "the test cannot tell compacted from not: " << back.size() << " of " << reported
                           << " events pending at the kill (round " << round << ")";
      scale *= 2;
      continue;
    }
    EXPECT_LT(journal_bytes, due_at + due_at / 4) << "never compacted (" << reported << " events, round " << round << ")";
    ++round;
    scale = 2;
  }
}
