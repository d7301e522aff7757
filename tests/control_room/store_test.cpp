// The control room's store on both engines: the same tests on SQLite (a file) and on a real
// PostgreSQL started for the suite.

#include <gtest/gtest.h>

#include <memory>

#include "accounts.hpp"
#include "database.hpp"
#include "migrations.hpp"
#include "postgres.hpp"
#include "store.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::control_room;
using nlohmann::json;

namespace {

test::TempPostgres& server() {
  static test::TempPostgres pg;  // one server for the suite: initdb takes a second or two
  return pg;
}

class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::postgres) {
      if (!server().available()) GTEST_SKIP() << server().why();
      static int n = 0;
      auto opened = open_database(server().create_database("store_" + std::to_string(++n)));
      ASSERT_TRUE(opened) << opened.error().message;
      db = std::move(*opened);
    } else {
      auto opened = open_database("sqlite:" + (dir.path() / "cr.db").string());
      ASSERT_TRUE(opened) << opened.error().message;
      db = std::move(*opened);
    }
    auto applied = migrate(*db);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(*applied, static_cast<int>(migrations().size()));
    store = std::make_unique<Store>(*db, 3);
  }
  NewEvent event(const std::string& id, std::uint64_t seq, const std::string& type, const std::string& severity = "alarm") {
    return {"estate", "cam-1", id, seq, type, severity, "2026-12-01T10:00:00.000Z", "", "input:x", "",
            json{{"id", id}, {"details", {{"n", seq}}}}.dump(), 1, false, now_ms()};
  }
  test::TempDir dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<Store> store;
};

TEST_P(StoreTest, MigrationsRunOnceAndAreRecorded) {
  auto again = migrate(*db);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, 0);
  auto rows = db->query("SELECT version, description FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), migrations().size());
  EXPECT_EQ(rows->number(0, 0), 1);
}

TEST_P(StoreTest, AnEventIsStoredOnceAndTheQueueRanksPanicsFirst) {
  ASSERT_TRUE(db->begin());
  auto motion = store->add_event(event("e-1", 1, "motion", "warning"));
  auto panic = store->add_event(event("e-2", 2, "panic", "critical"));
  auto info = store->add_event(event("e-3", 3, "armed", "info"));
  auto again = store->add_event(event("e-2", 2, "panic", "critical"));
  ASSERT_TRUE(db->commit());
  ASSERT_TRUE(motion && panic && info && again);
  EXPECT_TRUE(motion->has_value());
  EXPECT_FALSE(again->has_value()) << "the same event id twice is one event";
  auto queue = store->queue();
  ASSERT_TRUE(queue) << queue.error().message;
  ASSERT_EQ(queue->size(), 2u) << "information waits on no queue";
  EXPECT_EQ((*queue)[0]["type"], "panic");
  EXPECT_EQ((*queue)[0]["priority_name"], "panic");
  EXPECT_EQ((*queue)[1]["type"], "motion");
  EXPECT_EQ((*queue)[0]["details"]["n"], 2);
}

TEST_P(StoreTest, AnAlarmIsAcknowledgedWithANoteThenClosedAndEveryStepIsAudited) {
  auto id = store->add_event(event("e-1", 1, "panic", "critical"));
  ASSERT_TRUE(id && id->has_value());
  auto early = store->close(**id, "alice", "nothing");
  ASSERT_TRUE(early);
  EXPECT_FALSE(*early) << "closing needs an acknowledgement first";
  auto acked = store->acknowledge(**id, "alice", "called the police");
  ASSERT_TRUE(acked && *acked);
  auto twice = store->acknowledge(**id, "bob", "me too");
  ASSERT_TRUE(twice);
  EXPECT_FALSE(*twice);
  ASSERT_TRUE(store->audit("alice", "ack", "event 1", "called the police"));
  auto closed = store->close(**id, "alice", "police attended");
  ASSERT_TRUE(closed && *closed);
  auto e = store->event(**id);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ((*e)["queue"], "closed");
  EXPECT_EQ((*e)["acked_by"], "alice");
  EXPECT_EQ((*e)["note"], "called the police");
  EXPECT_EQ((*e)["outcome"], "police attended");
  EXPECT_TRUE(store->queue()->empty());
  auto log = store->audit_log();
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0]["actor"], "alice");
}

TEST_P(StoreTest, ANewBootIdWithoutACleanStopIsARestart) {
  const DeviceKey who{"estate", "cam-1"};
  auto first = store->status(who, {{"state", "online"}, {"boot_id", "b1"}});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(*first);
  EXPECT_FALSE(*store->status(who, {{"state", "online"}, {"boot_id", "b1"}})) << "a retained repeat";
  EXPECT_TRUE(*store->status(who, {{"state", "online"}, {"boot_id", "b2"}})) << "crashed and came back";
  EXPECT_FALSE(*store->status(who, {{"state", "offline"}, {"reason", "shutdown"}}));
  EXPECT_FALSE(*store->status(who, {{"state", "online"}, {"boot_id", "b3"}})) << "after a clean stop";
  EXPECT_FALSE(*store->status(who, {{"state", "offline"}, {"reason", "connection lost"}}));
  EXPECT_TRUE(*store->status(who, {{"state", "online"}, {"boot_id", "b4"}})) << "after its will";
  auto device = store->device(who);
  ASSERT_TRUE(device) << device.error().message;
  EXPECT_EQ((*device)["boot_id"], "b4");
  EXPECT_GE((*device)["history"].size(), 5u);
}

TEST_P(StoreTest, HeartbeatsThatStopMissSupervisionOnceAndTheNextRestoresIt) {
  const DeviceKey who{"estate", "cam-1"};
  // The store started now: periods count from its start at the earliest.
  const std::int64_t t0 = now_ms();
  ASSERT_TRUE(store->heartbeat(who, "{}", t0));
  auto none = store->newly_missed(t0 + 2000);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  auto missed = store->newly_missed(t0 + 3500);
  ASSERT_TRUE(missed);
  ASSERT_EQ(missed->size(), 1u);
  EXPECT_EQ((*missed)[0].device, "cam-1");
  EXPECT_TRUE(store->newly_missed(t0 + 9000)->empty()) << "raised once, not every second";
  auto restored = store->heartbeat(who, "{}", t0 + 9500);
  ASSERT_TRUE(restored);
  EXPECT_TRUE(*restored);
  EXPECT_FALSE(*store->heartbeat(who, "{}", t0 + 9600));
}

TEST_P(StoreTest, HeartbeatsAreKeptOneAMinuteAndTheNewestAlwaysOnTheDevice) {
  const DeviceKey who{"estate", "cam-1"};
  const std::int64_t t0 = now_ms();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store->heartbeat(who, json{{"n", i}}.dump(), t0 + i * 10000));
  }
  auto kept = db->query("SELECT count(*) FROM heartbeats");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->number(0, 0), 2) << "at 0 s and 60 s";
  EXPECT_EQ((*store->devices())[0]["heartbeat"]["n"], 9);
}

TEST_P(StoreTest, EvidencePartsWaitInTheDatabaseUntilTheirClipCloses) {
  const DeviceKey who{"estate", "cam-1"};
  ASSERT_TRUE(store->add_part({0, "estate", "cam-1", "clip-1", "t/clip-1/manifest", "bWFuaWZlc3Q="}));
  ASSERT_TRUE(store->add_part({0, "estate", "cam-1", "clip-1", "t/clip-1/chunk/0", "Y2h1bms="}));
  ASSERT_TRUE(store->add_part({0, "estate", "cam-1", "snapshot/e-1", "t/snapshot/e-1", "anBlZw=="}));
  ASSERT_EQ(store->parts()->size(), 3u);
  ASSERT_TRUE(store->drop_parts(who, "clip-1"));
  auto left = store->parts();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].clip, "snapshot/e-1");
}

TEST_P(StoreTest, OperatorsLogInWithArgon2idAndWrongPasswordsLockTheAccount) {
  Accounts accounts(*db, {.idle = std::chrono::minutes{30}, .absolute = std::chrono::hours{12},
                          .failures_before_lock = 3, .lock = std::chrono::minutes{5}});
  ASSERT_TRUE(accounts.set("alice", "correct horse battery", Role::supervisor));
  EXPECT_FALSE(accounts.set("../alice", "correct horse battery", Role::operator_));
  EXPECT_FALSE(accounts.set("bob", "short", Role::operator_)) << "passwords of ten characters or more";
  auto hash = db->query("SELECT hash FROM accounts WHERE name = 'alice'");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->text(0, 0).starts_with("$argon2id$")) << hash->text(0, 0);

  const std::int64_t t0 = now_ms();
  auto s = accounts.login("alice", "correct horse battery", t0);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->role, Role::supervisor);
  EXPECT_EQ(s->token.size(), 64u);
  EXPECT_NE(s->csrf, s->token);
  auto stored = db->query("SELECT token_hash FROM sessions");
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->text(0, 0), s->token) << "only the token's hash is kept";
  auto found = accounts.session(s->token, t0 + 1000);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "alice");
  EXPECT_EQ(found->csrf, s->csrf);
  EXPECT_FALSE(accounts.session(s->token, t0 + 31 * 60 * 1000 + 1000)) << "idle for more than 30 minutes";
  EXPECT_FALSE(accounts.login("nobody", "correct horse battery", t0));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(accounts.login("alice", "wrong password!", t0 + i));
  auto locked = accounts.login("alice", "correct horse battery", t0 + 10);
  ASSERT_FALSE(locked);
  EXPECT_NE(locked.error().message.find("locked"), std::string::npos);
  EXPECT_TRUE(accounts.login("alice", "correct horse battery", t0 + 6 * 60 * 1000)) << "after the lock";
  auto again = accounts.login("alice", "correct horse battery", t0 + 6 * 60 * 1000 + 1);
  ASSERT_TRUE(again);
  ASSERT_TRUE(accounts.logout(again->token));
  EXPECT_FALSE(accounts.session(again->token, t0 + 6 * 60 * 1000 + 2));
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(Engine::sqlite, Engine::postgres),
                         [](const auto& p) { return p.param == Engine::sqlite ? "sqlite" : "postgres"; });

}  // namespace
