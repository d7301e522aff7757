// Hostile messages and storage faults against the real programs: assure-edged on the sim board
// and assure-receiver on a real mosquitto. Each was a way to take a device offline or hide an
// alarm: an unsigned deeply nested command, forged events with the next ids, a second daemon on
// the same state directory, a read-only state disk, and retained messages that killed the receiver
// on every start.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "assure/firmware/evidence/signing.hpp"
#include "fleet.hpp"
#include "support.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/messages.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;
using test::device_file;
using test::Fleet;
using test::kBase;

namespace {

std::string panic_at(int ms) {
  return "[[step]]\nat_ms = " + std::to_string(ms) + "\ninput = \"panic\"\nactive = true\n[[step]]\nat_ms = " +
         std::to_string(ms + 300) + "\ninput = \"panic\"\nactive = false\n";
}

std::string alarm_zones(const std::filesystem::path& scenario) {
  return "[sim]\nscenario = \"" + scenario.string() + "\"\n[[alarm.zone]]\ninput = \"panic\"\ntype = \"panic\"\n";
}

}  // namespace

TEST(Faults, ADeepCommandAndFortyForgedEventsNeitherStopTheDeviceNorHideItsPanic) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  const auto scenario = fleet.dir.write("scenario.toml", panic_at(6000));
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  fleet.start_daemon(device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n") +
                     alarm_zones(scenario));
  auto first = probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/event"; }, 20s);
  ASSERT_TRUE(first) << fleet.daemon->log();
  // The next ids are predictable from any event: take forty of them with forgeries.
  const auto seen = json::parse(first->payload);
  const std::string id = seen["id"];
  const std::string prefix = id.substr(0, id.rfind('-') + 1);
  for (std::uint64_t n = 1; n <= 40; ++n) {
    uplink::Event forged;
    forged.seq = seen["seq"].get<std::uint64_t>() + n;
    forged.id = prefix + std::to_string(forged.seq);
    forged.source = "uplink";
    forged.time = std::chrono::system_clock::now();
    auto payload = uplink::event_object(forged);
    payload["type"] = "heartbeat_ok";  // a type no firmware sends
    probe.publish(std::string(kBase) + "/event", payload.dump());
  }
  // One unsigned message nested 100,000 deep (the device crashed on it), and 20,000 deep.
  for (std::size_t depth : {100000u, 20000u}) {
    probe.publish(std::string(kBase) + "/cmd/ping", "{\"command\":{\"x\":" + std::string(depth, '[') +
                                                        std::string(depth, ']') + "},\"signature\":\"00\"}");
  }
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("panic").empty(); }, 20s)) << fleet.receiver->log();
  EXPECT_TRUE(fleet.daemon->running());
  EXPECT_TRUE(fleet.receiver->running());
  // The device still obeys a signed command.
  const auto now = std::chrono::system_clock::now();
  probe.publish(std::string(kBase) + "/cmd/ping",
                uplink::sign_command(control_room, "ping", "estate-a", "cam-01", now, "nonce-ping-after-00001"));
  EXPECT_TRUE(probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/reply"; }, 10s)) << fleet.daemon->log();
  // The forgeries were reported, none shown as an event, and no gap was claimed for them.
  std::size_t forged = 0;
  for (const auto& r : fleet.evidence("rejected")) forged += r["message"].get<std::string>().find("FORGED") != std::string::npos;
  EXPECT_EQ(forged, 40u);
  for (const auto& e : fleet.events()) EXPECT_NE(e["type"], "heartbeat_ok");
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  fleet.daemon->signal(SIGTERM);
  EXPECT_TRUE(fleet.daemon->wait(20s));
}

TEST(Faults, ASecondDaemonOnTheSameStateDirectoryStopsNamingTheFirst) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_daemon(device_file(broker.uri()));
  ASSERT_TRUE(test::eventually([&] { return fleet.daemon->log_contains("uplink: outbox"); }, 20s)) << fleet.daemon->log();
  const auto config = fleet.dir.path() / "device.toml";
  test::Process second({test::binary("assure-edged").string(), "--config", config.string(), "--board-dir",
                        (test::source_dir() / "board").string()},
                       fleet.dir.path() / "second.log");
  const auto status = second.wait(20s);
  ASSERT_TRUE(status) << second.log();
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_TRUE(second.log_contains("in use by another daemon, pid " + std::to_string(fleet.daemon->pid())))
      << second.log();
  EXPECT_TRUE(fleet.daemon->running());
}

TEST(Faults, OnAReadOnlyStateDiskThePanicStillReachesTheControlRoomAndTheDeviceSaysSo) {
  test::SmallFilesystem disk(64u << 20);
  if (!disk.available()) GTEST_SKIP() << disk.why();
  test::Broker broker;
  Fleet fleet;
  std::filesystem::copy(fleet.dir.path() / "state", disk.path() / "state", std::filesystem::copy_options::recursive);
  const auto scenario = fleet.dir.write("scenario.toml", panic_at(4000));
  std::string config = device_file(broker.uri()) + alarm_zones(scenario);
  config.replace(config.find("state_dir = \"state\""), 19, "state_dir = \"" + (disk.path() / "state").string() + "\"");
  // The card went read-only (the kernel's errors=remount-ro) and the device restarted on it.
  ASSERT_TRUE(disk.read_only(true));
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  fleet.start_daemon(config);
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("panic").empty(); }, 30s))
      << fleet.daemon->log() << fleet.receiver->log();
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("storage_failed").empty(); }, 5s))
      << fleet.daemon->log() << fleet.receiver->log();
  EXPECT_NE(fleet.events("storage_failed")[0]["details"]["error"].get<std::string>().find("Read-only"), std::string::npos);
  // Heartbeats say it too.
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& j : fleet.lines()) {
          if (j.value("kind", "") == "heartbeat" && j["payload"].value("storage", "ok") != "ok") return true;
        }
        return false;
      },
      10s));
  EXPECT_TRUE(fleet.daemon->running());
  fleet.daemon->signal(SIGTERM);
  EXPECT_TRUE(fleet.daemon->wait(20s));
  EXPECT_TRUE(disk.read_only(false));
}

TEST(Faults, RetainedPoisonAtTheBrokerNeverKeepsTheReceiverDown) {
  test::Broker broker;
  Fleet fleet;
  test::Probe probe(broker.uri(), "assure/v1/#");
  probe.publish("assure/v1/" + std::string(300, 's') + "/cam-01/status", "{\"state\":\"online\"}", true);
  probe.publish("assure/v1/estate-a/cam-01/heartbeat", std::string(100000, '[') + std::string(100000, ']'), true);
  probe.publish("assure/v1/../../snapshot/pwned", "\xFF\xD8 not yours", true);
  probe.publish("assure/v1/estate-a/../snapshot/pwned", "\xFF\xD8 not yours", true);
  std::this_thread::sleep_for(300ms);
  for (int start = 0; start < 2; ++start) {  // the retained messages come again on every start
    fleet.start_receiver(broker.uri());
    ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
    std::this_thread::sleep_for(1s);
    ASSERT_TRUE(fleet.receiver->running()) << fleet.receiver->log();
    fleet.receiver->signal(SIGTERM);
    ASSERT_TRUE(fleet.receiver->wait(10s));
  }
  EXPECT_FALSE(std::filesystem::exists(fleet.dir.path() / "snapshot"));
  EXPECT_FALSE(std::filesystem::exists(fleet.dir.path().parent_path() / "snapshot"));
  EXPECT_FALSE(std::filesystem::exists(fleet.dir.path() / "control-room" / ".."/ "snapshot"));
}

// A broker whose ACL does not let the device write its events (a fleet set up wrong, or an ACL
// change gone bad): the panic is kept and sent again, the refusals are counted in every heartbeat
// for the control room to see, and once the ACL is put right the panic arrives.
TEST(Faults, APublishTheBrokerRefusesIsKeptReportedAndDeliveredOnceTheAclAllowsIt) {
  namespace fs = std::filesystem;
  test::TempDir acl_dir;
  fs::permissions(acl_dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);
  const auto acl = acl_dir.path() / "acl";
  auto write_acl = [&](const std::string& device_rules) {
    std::ofstream(acl) << "topic read assure/v1/#\n" << device_rules;  // (anonymous: the control room here)
    fs::permissions(acl, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  };
  write_acl("pattern write assure/v1/+/%u/status\npattern write assure/v1/+/%u/heartbeat\n");  // no events
  test::Broker broker(0, "allow_anonymous true\nacl_file " + acl.string() + "\n");
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  const auto scenario = fleet.dir.write("scenario.toml", panic_at(2000));
  std::string config = device_file(broker.uri()) + alarm_zones(scenario);
  config.replace(config.find("keepalive = 2\n"), 14, "keepalive = 2\nusername = \"cam-01\"\n");
  fleet.start_daemon(config);
  auto refused = [&] {
    std::uint64_t most = 0;
    for (const auto& j : fleet.lines()) {
      if (j.value("kind", "") == "heartbeat") most = std::max(most, j["payload"].value("publishes_refused", std::uint64_t{0}));
    }
    return most;
  };
  ASSERT_TRUE(test::eventually([&] { return refused() >= 2; }, 20s)) << fleet.daemon->log() << fleet.receiver->log();
  EXPECT_TRUE(fleet.events("panic").empty());
  EXPECT_TRUE(fleet.daemon->log_contains("reason code 0x87")) << fleet.daemon->log();  // not authorised
  ASSERT_TRUE(test::eventually([&] { return fleet.daemon->log_contains("alarm: panic"); }, 10s));
  std::this_thread::sleep_for(1500ms);  // refused at least once more, kept
  EXPECT_TRUE(fleet.events("panic").empty());
  // The ACL put right, and read again by the running broker: the kept panic goes through.
  write_acl("pattern write assure/v1/+/%u/#\n");
  broker.reload();
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("panic").empty(); }, 30s))
      << fleet.daemon->log() << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
}

// A card whose syncs fail (the writes land in the page cache, making them durable fails with
// EIO): the panic still reaches the control room, the device says it can keep nothing, and when
// syncing works again it says so too.
TEST(Faults, WhenSyncFailsThePanicStillArrivesAndTheDeviceSaysSoAndWhenItRecovers) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  const auto failing = fleet.dir.write("sync-fails", "while this file exists");
  const auto scenario = fleet.dir.write("scenario.toml", panic_at(3000) + panic_at(8000));
  const std::string asan = std::getenv("ASAN_OPTIONS") != nullptr ? std::getenv("ASAN_OPTIONS") : "";
  ::setenv("LD_PRELOAD", ASSURE_FAIL_SYNC_LIB, 1);
  ::setenv("ASSURE_FAIL_SYNC_UNDER", (fleet.dir.path() / "state").c_str(), 1);
  ::setenv("ASSURE_FAIL_SYNC_WHEN", failing.c_str(), 1);
  ::setenv("ASAN_OPTIONS", (asan + ":verify_asan_link_order=0").c_str(), 1);
  fleet.start_daemon(device_file(broker.uri()) + alarm_zones(scenario));
  ::unsetenv("LD_PRELOAD");
  ::setenv("ASAN_OPTIONS", asan.c_str(), 1);
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("panic").empty(); }, 20s))
      << fleet.daemon->log() << fleet.receiver->log();
  ASSERT_FALSE(fleet.events("storage_failed").empty()) << fleet.receiver->log();
  EXPECT_NE(fleet.events("storage_failed")[0]["details"]["error"].get<std::string>().find("sync"), std::string::npos)
      << fleet.events("storage_failed")[0].dump();
  std::filesystem::remove(failing);
  ASSERT_TRUE(test::eventually([&] { return fleet.events("panic").size() >= 2; }, 20s)) << fleet.receiver->log();
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("storage_restored").empty(); }, 5s))
      << fleet.daemon->log() << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  fleet.daemon->signal(SIGTERM);
  EXPECT_TRUE(fleet.daemon->wait(20s));
}
