// The control room's pure pieces: priorities, what the console may send, the live feed, the
// evidence archive, the HTTP helpers.

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <map>

#include "assure/firmware/evidence/signing.hpp"
#include "console_http.hpp"
#include "evidence_export.hpp"
#include "live_feed.hpp"
#include "operator_commands.hpp"
#include "options.hpp"
#include "priority.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::control_room;
using nlohmann::json;

TEST(Priority, PanicsComeFirstThenAlarmsTamperTroublesMotionAndInformation) {
  EXPECT_EQ(priority_of("panic", "critical"), Priority::panic);
  EXPECT_EQ(priority_of("duress", "critical"), Priority::panic);
  EXPECT_EQ(priority_of("burglary", "alarm"), Priority::alarm);
  EXPECT_EQ(priority_of("shock", "alarm"), Priority::alarm);
  EXPECT_EQ(priority_of("tamper", "alarm"), Priority::tamper);
  EXPECT_EQ(priority_of("missed_supervision", "warning"), Priority::trouble);
  EXPECT_EQ(priority_of("video_lost", "warning"), Priority::trouble);
  EXPECT_EQ(priority_of("motion", "warning"), Priority::motion);
  EXPECT_EQ(priority_of("armed", "info"), Priority::information);
  EXPECT_FALSE(queued(Priority::information));
  EXPECT_TRUE(queued(Priority::motion));
  // A type from newer firmware ranks by its severity, an alarm never below trouble.
  EXPECT_EQ(priority_of("glass_break", "alarm"), Priority::alarm);
  EXPECT_EQ(priority_of("fan_failed", "warning"), Priority::trouble);
  EXPECT_EQ(priority_of("hello", "info"), Priority::information);
}

TEST(OperatorCommands, OnlyASupervisorArmsDisarmsOrSetsMaintenance) {
  const json arm{{"site", "estate"}, {"device", "kit-3"}, {"name", "arm"}, {"args", {{"mode", "home"}}}};
  EXPECT_FALSE(check_command(arm, Role::operator_));
  auto ok = check_command(arm, Role::supervisor);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->args["mode"], "home");
  EXPECT_FALSE(check_command({{"site", "estate"}, {"device", "kit-3"}, {"name", "disarm"}}, Role::operator_));
  EXPECT_FALSE(check_command({{"site", "estate"}, {"device", "kit-3"}, {"name", "maintenance"}, {"args", {{"on", true}}}},
                             Role::operator_));
  EXPECT_TRUE(check_command({{"site", "estate"}, {"device", "kit-3"}, {"name", "snapshot"}}, Role::operator_));
}

TEST(OperatorCommands, ArgumentsAreCheckedAndNamesFromOutsideStayPlain) {
  const auto cmd = [](json args, std::string name = "outputs", std::string device = "kit-3") {
    return check_command({{"site", "estate"}, {"device", device}, {"name", name}, {"args", args}}, Role::supervisor);
  };
  EXPECT_TRUE(cmd({{"output", "light_porch"}, {"state", "on"}, {"seconds", 600}}));
  EXPECT_FALSE(cmd({{"output", "light_porch"}, {"state", "on"}, {"seconds", 100000}}));
  EXPECT_FALSE(cmd({{"output", "light_porch"}, {"state", "blink"}}));
  EXPECT_FALSE(cmd({{"output", "light_porch"}, {"state", "on"}, {"extra", 1}}));
  EXPECT_FALSE(cmd({{"clip", "../../etc/passwd"}}, "resend_clip"));
  EXPECT_TRUE(cmd({{"clip", "kit-3-cam0-20261201T100000Z"}}, "resend_clip"));
  EXPECT_FALSE(cmd(json::object(), "ping", "kit/3/#"));
  EXPECT_FALSE(cmd(json::object(), "config")) << "the console never sends config";
  EXPECT_FALSE(cmd(json::object(), "echo"));
  EXPECT_FALSE(check_command(json::array(), Role::supervisor));
}

TEST(LiveFeed, ASlowConsoleIsToldToReloadRatherThanHoldingMemory) {
  LiveFeed feed(3);
  for (int i = 0; i < 5; ++i) feed.publish(std::to_string(i));
  bool lost = false;
  auto got = feed.wait(0, std::chrono::milliseconds{10}, lost);
  EXPECT_TRUE(lost);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.front().second, "2");
  got = feed.wait(4, std::chrono::milliseconds{10}, lost);
  EXPECT_FALSE(lost);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.front().first, 5u);
  std::thread later([&] { feed.publish("5"); });
  got = feed.wait(5, std::chrono::seconds{5}, lost);
  later.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.front().second, "5");
}

TEST(EvidenceExport, TheZipHoldsTheClipItsManifestTheKeyAndHowToCheckThem) {
  test::TempDir dir;
  const auto clip = dir.write("c1.mp4", std::string(100000, 'v'));
  const auto manifest = dir.write("c1.manifest.json", R"({"manifest":{},"signature":"00"})");
  auto zip = evidence_zip({"estate", "cam-1", "c1", clip, manifest, std::string(64, 'a'), "verified: chain #3", "sam",
                           "2026-12-01T10:00:00.000Z"});
  ASSERT_TRUE(zip) << zip.error().message;
  std::map<std::string, std::string> files;
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  ASSERT_EQ(archive_read_open_memory(a, zip->data(), zip->size()), ARCHIVE_OK);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string bytes(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
    archive_read_data(a, bytes.data(), bytes.size());
    files[archive_entry_pathname(entry)] = bytes;
  }
  archive_read_free(a);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files["c1/c1.mp4"], std::string(100000, 'v'));
  EXPECT_EQ(files["c1/c1.manifest.json"], R"({"manifest":{},"signature":"00"})");
  EXPECT_EQ(files["c1/cam-1.pub"], std::string(64, 'a') + "\n");
  EXPECT_NE(files["c1/HOW-TO-VERIFY.txt"].find("assure-verify c1.mp4 c1.manifest.json --key cam-1.pub"), std::string::npos);
  EXPECT_NE(files["c1/HOW-TO-VERIFY.txt"].find("Exported by sam"), std::string::npos);
  EXPECT_FALSE(evidence_zip({"estate", "cam-1", "c1", dir.path() / "missing.mp4", manifest, "", "", "", ""}));
}

TEST(ConsoleOptions, SharedInstancesSplitTheFleetAndOneKeepsTheEvidence) {
  const auto parse = [](std::vector<std::string> args) {
    std::vector<char*> argv{const_cast<char*>("assure-control-room")};
    for (auto& a : args) argv.push_back(a.data());
    return parse_options(static_cast<int>(argv.size()), argv.data());
  };
  auto single = parse({"--data", "/tmp/x"});
  ASSERT_TRUE(single);
  EXPECT_EQ(filters(*single), std::vector<std::string>{"assure/v1/+/+/#"});
  EXPECT_EQ(single->database, "sqlite:/tmp/x/control-room.db");
  auto shared = parse({"--share", "room", "--no-evidence", "--broker", "tcp://[::1]:1884"});
  ASSERT_TRUE(shared);
  const auto f = filters(*shared);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "$share/room/assure/v1/+/+/status");
  EXPECT_EQ(shared->session.host, "::1");
  EXPECT_EQ(shared->session.port, 1884);
  auto keeper = parse({"--share", "room"});
  ASSERT_TRUE(keeper);
  EXPECT_EQ(filters(*keeper).back(), "assure/v1/+/+/snapshot/#") << "evidence is taken whole by one instance";
  EXPECT_FALSE(parse({"--share", "a/b"}));
  EXPECT_FALSE(parse({"--supervision", "0"}));
  auto tls = parse({"--broker", "ssl://broker.internal:8883", "--broker-ca", "/etc/ca.crt"});
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->session.tls);
  EXPECT_EQ(tls->session.ca_file, "/etc/ca.crt");
  EXPECT_FALSE(parse({"--broker", "ws://host:80"}));
  EXPECT_FALSE(parse({"--broker-cert", "c.pem"})) << "a certificate without its key";
}
