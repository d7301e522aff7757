// What the engineer's shell keeps on the device: config revisions (the last 50, who/when/why,
// the running and the known-good one, a pending confirm), the hash-chained audit log (any change,
// removal or reordering found, a torn log set aside), and engineers' Argon2id secrets with the
// persisted, doubling lockout.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "assure/firmware/evidence/audit_log.hpp"
#include "assure/firmware/shell/engineers.hpp"
#include "assure/firmware/shell/revisions.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::shell;
using assure::evidence::AuditLog;
using assure::evidence::verify_audit_log;
using namespace std::chrono_literals;

namespace {

const Utc t0 = std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + 10h;

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void write_lines(const std::filesystem::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

}  // namespace

TEST(Revisions, KeepTheLastFiftyWithWhoWhenAndWhyAcrossARestart) {
  test::TempDir dir;
  {
    auto r = Revisions::open(dir.path() / "config");
    ASSERT_TRUE(r) << r.error().message;
    for (int i = 1; i <= 55; ++i) {
      auto added = r->add("# revision " + std::to_string(i) + "\n", "alice", "change " + std::to_string(i),
                          t0 + std::chrono::minutes{i});
      ASSERT_TRUE(added) << added.error().message;
      if (i == 3) {
        ASSERT_TRUE(r->set_good(3));
      }
      ASSERT_TRUE(r->set_active(added->number));
    }
    ASSERT_TRUE(r->set_pending(PendingConfirm{55, 54, t0 + 2h}));
  }
  auto r = Revisions::open(dir.path() / "config");
  ASSERT_TRUE(r);
  const auto list = r->list();
  ASSERT_EQ(list.size(), 50u);
  EXPECT_EQ(list.front().number, 55u);
  EXPECT_EQ(list.front().who, "alice");
  EXPECT_EQ(list.front().comment, "change 55");
  EXPECT_EQ(list.front().when, t0 + 55min);
  EXPECT_EQ(r->active(), 55u);
  EXPECT_EQ(r->good(), 3u);
  ASSERT_TRUE(r->text(3)) << "the known-good revision is never pruned";
  EXPECT_EQ(*r->text(3), "# revision 3\n");
  EXPECT_FALSE(r->text(4)) << "pruned";
  ASSERT_TRUE(r->pending());
  EXPECT_EQ(r->pending()->previous, 54u);
  EXPECT_EQ(r->pending()->until, t0 + 2h);
}

TEST(Revisions, DamagedFilesAreSkippedNotBelieved) {
  test::TempDir dir;
  {
    auto r = Revisions::open(dir.path());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->add("a = 1\n", "bob", "", t0));
    ASSERT_TRUE(r->set_active(1));
  }
  std::ofstream(dir.path() / "000002.json") << "{\"who\": [[[[";
  std::ofstream(dir.path() / "state.json", std::ios::trunc) << "not json";
  std::ofstream(dir.path() / "notes.json") << "{}";  // not a revision's name: left alone
  auto r = Revisions::open(dir.path());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->list().size(), 1u);
  EXPECT_EQ(r->active(), std::nullopt) << "a damaged state names no running revision";
}

TEST(AuditLog, ItsChainShowsAnyChangeRemovalOrReordering) {
  test::TempDir dir;
  const auto file = dir.path() / "audit.log";
  {
    auto log = AuditLog::open(file);
    ASSERT_TRUE(log);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->append({{"action", "commit"}, {"who", "alice"}, {"revision", i}}));
  }
  {
    auto log = AuditLog::open(file);  // the chain goes on after a restart
    ASSERT_TRUE(log);
    ASSERT_EQ(log->count(), 4u);
    ASSERT_TRUE(log->append({{"action", "rollback"}, {"who", "bob"}}));
  }
  ASSERT_EQ(verify_audit_log(file).value_or(0), 5u);
  const auto good = lines_of(file);

  auto changed = good;
  changed[1].replace(changed[1].find("alice"), 5, "mallo");
  write_lines(file, changed);
  ASSERT_FALSE(verify_audit_log(file));
  EXPECT_NE(verify_audit_log(file).error().message.find(":2: this record was changed"), std::string::npos);

  auto removed = good;
  removed.erase(removed.begin() + 2);
  write_lines(file, removed);
  ASSERT_FALSE(verify_audit_log(file));
  EXPECT_NE(verify_audit_log(file).error().message.find(":3: the chain is broken"), std::string::npos);

  auto swapped = good;
  std::swap(swapped[0], swapped[1]);
  write_lines(file, swapped);
  EXPECT_FALSE(verify_audit_log(file));
}

TEST(AuditLog, ATornLastLineIsSetAsideAndANewChainSaysSo) {
  test::TempDir dir;
  const auto file = dir.path() / "audit.log";
  {
    auto log = AuditLog::open(file);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append({{"action", "commit"}}));
  }
  std::ofstream(file, std::ios::app) << "{\"action\":\"comm";  // power cut mid-write
  auto log = AuditLog::open(file);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "audit.log.broken-1"));
  ASSERT_EQ(verify_audit_log(file).value_or(0), 1u);
  EXPECT_NE(lines_of(file)[0].find("audit_log_restarted"), std::string::npos);
}

TEST(Engineers, Argon2idSecretsAndALockoutThatDoublesAndSurvivesARestart) {
  test::TempDir dir;
  const auto file = dir.path() / "engineers.json", lock = dir.path() / "engineer-lock.json";
  {
    auto e = Engineers::open(file, lock);
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->set_secret("alice", "correct horse"));
    EXPECT_FALSE(e->set_secret("Alice/../x", "correct horse"));
    EXPECT_FALSE(e->set_secret("bob", "123")) << "too short";
    EXPECT_TRUE(e->login("alice", "correct horse", t0).ok);
    for (int i = 1; i <= 4; ++i) {
      auto v = e->login("alice", "wrong", t0 + std::chrono::seconds{i});
      EXPECT_FALSE(v.ok);
      EXPECT_FALSE(v.locked_until) << i;
    }
    auto fifth = e->login("nobody", "wrong", t0 + 5s);
    ASSERT_TRUE(fifth.locked_until);
    EXPECT_EQ(*fifth.locked_until, t0 + 5s + 30s);
  }
  std::string text;
  {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  EXPECT_NE(text.find("$argon2id$"), std::string::npos);
  EXPECT_EQ(text.find("correct horse"), std::string::npos);
  auto e = Engineers::open(file, lock);  // a reboot does not lift the lock
  ASSERT_TRUE(e);
  auto locked = e->login("alice", "correct horse", t0 + 10s);
  EXPECT_FALSE(locked.ok) << "the right secret is not even checked while locked";
  EXPECT_NE(locked.why.find("locked"), std::string::npos);
  auto sixth = e->login("alice", "wrong", t0 + 36s);
  ASSERT_TRUE(sixth.locked_until);
  EXPECT_EQ(*sixth.locked_until, t0 + 36s + 60s) << "doubled";
  EXPECT_TRUE(e->login("alice", "correct horse", t0 + 97s).ok);
  EXPECT_FALSE(e->login("alice", "wrong", t0 + 98s).locked_until) << "a good login starts the count again";
}

TEST(Engineers, ALockFileThatCannotBeReadLocksTheShell) {
  test::TempDir dir;
  std::ofstream(dir.path() / "lock.json") << "\x01garbage";
  auto e = Engineers::open(dir.path() / "engineers.json", dir.path() / "lock.json");
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->set_secret("alice", "correct horse"));
  EXPECT_FALSE(e->login("alice", "correct horse", std::chrono::system_clock::now()).ok);
}
