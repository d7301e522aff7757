// The engineer's shell against the real daemon on the sim board, a real mosquitto and the real
// assure-shell: commits applied live (the MQTT session and the boot id untouched), commit
// confirmed reverting by itself, login lockout told to the control room, a broken device file at
// boot falling back to the last good revision, and an interactive session in a real terminal.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "assure/firmware/daemon.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/evidence/audit_log.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "fleet.hpp"
#include "pty_session.hpp"
#include "support.hpp"
#include "unix_client.hpp"

using namespace assure;
using namespace std::chrono_literals;
using test::Fleet;
using test::kBase;
using json = nlohmann::json;

namespace {

const std::string kSecret = "correct horse";

std::string kit(const std::string& uri) {
  return test::device_file(uri) + "[alarm]\nexit_delay = 30\n[[alarm.zone]]\ninput = \"panic\"\ntype = \"panic\"\n";
}

std::filesystem::path socket_of(const Fleet& fleet) { return fleet.dir.path() / "state" / "shell" / "shell.sock"; }

int run(const Fleet& fleet, const std::vector<std::string>& args, std::string* log = nullptr,
        const std::string& secret = kSecret) {
  ::setenv("ASSURE_SECRET", secret.c_str(), 1);
  std::vector<std::string> argv{test::binary("assure-shell").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  static int n = 0;
  test::Process shell(argv, fleet.dir.path() / ("shell-" + std::to_string(++n) + ".log"));
  const auto status = shell.wait(60s);
  if (log != nullptr) *log = shell.log();
  return status ? WEXITSTATUS(*status) : -1;
}

int engineer(const Fleet& fleet, const std::string& script, std::string* log = nullptr, const std::string& secret = kSecret) {
  return run(fleet, {"--socket", socket_of(fleet).string(), "--user", "alice", "-c", script}, log, secret);
}

void add_engineer(const Fleet& fleet) {
  std::string log;
  ASSERT_EQ(run(fleet, {"passwd", "alice", "--state", (fleet.dir.path() / "state").string()}, &log), 0) << log;
}

std::vector<json> events(const test::Probe& probe, const std::string& type) {
  std::vector<json> out;
  for (const auto& m : probe.all()) {
    if (m.topic != std::string(kBase) + "/event") continue;
    auto e = json::parse(m.payload, nullptr, false);
    if (e.is_object() && e.value("type", "") == type) out.push_back(e);
  }
  return out;
}

std::vector<json> onlines(const test::Probe& probe) {
  std::vector<json> out;
  for (const auto& m : probe.all()) {
    if (m.topic != std::string(kBase) + "/status") continue;
    auto s = json::parse(m.payload, nullptr, false);
    if (s.is_object() && s.value("state", "") == "online") out.push_back(s);
  }
  return out;
}

void wait_ready(const Fleet& fleet, const test::Probe& probe) {
  ASSERT_TRUE(test::eventually([&] { return !onlines(probe).empty(); }, 20s)) << fleet.daemon->log();
  ASSERT_TRUE(test::eventually([&] { return std::filesystem::exists(socket_of(fleet)); }, 10s)) << fleet.daemon->log();
}

// A home kit's daemon on the sim board with a broker, a probe on its topics and engineer alice.
struct Kit {
  test::Broker broker;
  Fleet fleet;
  test::Probe probe{broker.uri(), std::string(kBase) + "/#"};
  explicit Kit(const std::string& extra = "") {
    fleet.start_daemon(kit(broker.uri()) + extra);
    wait_ready(fleet, probe);
    add_engineer(fleet);
  }
};

}  // namespace

TEST(Shell, ACommitAppliesTheAlarmLiveAndTheSessionAndBootIdStay) {
  Kit k;
  auto& fleet = k.fleet;
  auto& probe = k.probe;
  const std::string boot_id = onlines(probe)[0].value("boot_id", "");

  std::string log;
  ASSERT_EQ(engineer(fleet, "set alarm.exit_delay 4; diff; show pending-restart; commit shorter exit delay for the install",
                  &log), 0) << log << fleet.daemon->log();
  EXPECT_NE(log.find("alarm.exit_delay: 30 -> 4"), std::string::npos) << log;
  EXPECT_NE(log.find("applied live: alarm site"), std::string::npos) << log;
  EXPECT_NE(log.find("revision 2 is running"), std::string::npos) << log;
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "config_changed").empty(); }, 10s)) << fleet.daemon->log();
  const auto changed = events(probe, "config_changed")[0];
  EXPECT_EQ(changed["details"]["who"], "alice");
  EXPECT_EQ(changed["details"]["keys"][0]["key"], "alarm.exit_delay");
  EXPECT_FALSE(changed["details"]["keys"][0].contains("after")) << "the control room gets the keys, not the values";

  // The new exit delay runs now: armed 4 s after arming, not 30.
  ASSERT_EQ(engineer(fleet, "arm", &log), 0) << log;
  EXPECT_NE(log.find("state: exit_delay"), std::string::npos) << log;
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "armed").empty(); }, 12s)) << fleet.daemon->log();
  ASSERT_EQ(engineer(fleet, "ping; show revisions", &log), 0) << log;
  EXPECT_NE(log.find("boot_id: " + boot_id), std::string::npos) << log;
  EXPECT_NE(log.find("shorter exit delay for the install  [running]  [good]"), std::string::npos) << log;
  EXPECT_EQ(onlines(probe).size(), 1u) << "the MQTT link never reconnected";
  // The device file on disk is the committed one; the audit log holds the commit and verifies.
  EXPECT_NE(test::read_file(fleet.dir.path() / "device.toml").find("exit_delay = 4"), std::string::npos);
  auto audited = evidence::verify_audit_log(fleet.dir.path() / "state" / "audit.log");
  ASSERT_TRUE(audited) << audited.error().message;
  EXPECT_EQ(*audited, 1u);
  EXPECT_NE(test::read_file(fleet.dir.path() / "state" / "audit.log").find("\"who\":\"alice\""), std::string::npos);
  test::Process verify({test::binary("assure-verify").string(), "--audit", (fleet.dir.path() / "state" / "audit.log").string()},
                       fleet.dir.path() / "verify.log");
  const auto verified = verify.wait(20s);
  ASSERT_TRUE(verified);
  EXPECT_EQ(WEXITSTATUS(*verified), 0) << verify.log();
  EXPECT_TRUE(verify.log_contains("VERIFIED")) << verify.log();
}

TEST(Shell, BadValuesAreRefusedWithTheLoadersWordsAndNothingChanges) {
  Kit k;
  auto& fleet = k.fleet;
  auto& probe = k.probe;
  std::string log;
  EXPECT_EQ(engineer(fleet, "set alarm.exit_delay forty", &log), 1);
  EXPECT_NE(log.find("alarm.exit_delay: 'forty' is not a whole number"), std::string::npos) << log;
  EXPECT_EQ(engineer(fleet, "set alarm.exit_dealy 5", &log), 1);
  EXPECT_NE(log.find("did you mean alarm.exit_delay?"), std::string::npos) << log;
  // A zone on an input the board lacks passes the schema but not the board: refused at commit.
  EXPECT_EQ(engineer(fleet, "add alarm.zone; set alarm.zone[1].input garage_door; set alarm.zone[1].type instant; commit", &log), 1);
  EXPECT_NE(log.find("alarm.zone input 'garage_door' is not an input of board 'sim'"), std::string::npos) << log;
  EXPECT_EQ(engineer(fleet, "commit", &log), 1) << "a new session starts from the running file";
  EXPECT_NE(log.find("nothing to commit"), std::string::npos) << log;
  EXPECT_TRUE(events(probe, "config_changed").empty());
  EXPECT_TRUE(fleet.daemon->running());
}

TEST(Shell, ACommitConfirmedLeftUnconfirmedRevertsByItself) {
  Kit k;
  auto& fleet = k.fleet;
  auto& probe = k.probe;
  std::string log;
  ASSERT_EQ(engineer(fleet, "set alarm.entry_delay 45; commit confirmed 1 trying a longer entry delay", &log), 0) << log;
  EXPECT_NE(log.find("confirm before"), std::string::npos) << log;
  EXPECT_EQ(engineer(fleet, "set alarm.exit_delay 10; commit", &log), 1) << "one unconfirmed commit at a time";
  // The engineer never confirms (cut off, say): a minute later the device goes back by itself.
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "config_reverted").empty(); }, 90s)) << fleet.daemon->log();
  const auto reverted = events(probe, "config_reverted")[0];
  EXPECT_EQ(reverted["details"]["who"], "automatic");
  EXPECT_EQ(reverted["details"]["from"], 1);
  EXPECT_EQ(test::read_file(fleet.dir.path() / "device.toml").find("entry_delay = 45"), std::string::npos);
  ASSERT_EQ(engineer(fleet, "show config alarm.entry_delay; show revisions", &log), 0) << log;
  EXPECT_NE(log.find("revision 2 was not confirmed in time  [running]  [good]"), std::string::npos) << log;
  // And a rollback by hand, to the unconfirmed revision, then confirmed-free.
  ASSERT_EQ(engineer(fleet, "rollback 2", &log), 0) << log;
  EXPECT_NE(test::read_file(fleet.dir.path() / "device.toml").find("entry_delay = 45"), std::string::npos);
}

TEST(Shell, FailedLoginsLockTheShellAndTheControlRoomHearsOfEach) {
  Kit k;
  auto& fleet = k.fleet;
  auto& probe = k.probe;
  std::string log;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(engineer(fleet, "ping", &log, "guess" + std::to_string(i)), 3) << log;
  EXPECT_NE(log.find("locked until"), std::string::npos) << log;
  EXPECT_EQ(engineer(fleet, "ping", &log), 3) << "the right secret is refused while locked";
  ASSERT_TRUE(test::eventually([&] { return events(probe, "engineer_login_failed").size() >= 6; }, 10s))
      << fleet.daemon->log();
  EXPECT_EQ(events(probe, "engineer_login_failed")[4]["details"]["failures"], 5);
  // Anything but hello and login before a login is refused; garbage is answered, never fatal.
  test::UnixClient raw(socket_of(fleet));
  EXPECT_EQ(raw.ask({{"op", "hello"}})["result"]["protocol"], 1);
  EXPECT_NE(raw.ask({{"op", "commit"}})["error"].get<std::string>().find("log in first"), std::string::npos);
  raw.send_raw("{{{{ not json\n");
  EXPECT_FALSE(raw.receive()->at("ok").get<bool>());
  EXPECT_TRUE(fleet.daemon->running());
}

TEST(Shell, ABrokenDeviceFileAtBootFallsBackToTheLastGoodRevision) {
  test::Broker broker;
  Fleet fleet;
  {
    test::Probe probe(broker.uri(), std::string(kBase) + "/#");
    fleet.start_daemon(kit(broker.uri()));
    wait_ready(fleet, probe);
    fleet.daemon->signal(SIGTERM);
    ASSERT_TRUE(fleet.daemon->wait(20s));
  }
  // Someone edits the file by hand and breaks it.
  std::ofstream(fleet.dir.path() / "device.toml", std::ios::app) << "\n[alarm]\nexit_delay = \"soon\"\n";
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  auto daemon = std::make_unique<test::Process>(
      std::vector<std::string>{test::binary("assure-edged").string(), "--config", (fleet.dir.path() / "device.toml").string(),
                               "--board-dir", (test::source_dir() / "board").string()},
      fleet.dir.path() / "daemon2.log");
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "config_fallback").empty(); }, 20s)) << daemon->log();
  const auto fallback = events(probe, "config_fallback")[0];
  EXPECT_EQ(fallback["details"]["revision"], 1);
  EXPECT_EQ(fallback["severity"], "critical");
  EXPECT_TRUE(daemon->log_contains("running revision 1 (the last known good) instead")) << daemon->log();
  EXPECT_TRUE(daemon->running());
}

TEST(Shell, AnEngineerAtATerminalLogsInCompletesAKeyAndCommits) {
  Kit k;
  auto& fleet = k.fleet;
  ::unsetenv("ASSURE_SECRET");
  test::PtySession tty({test::binary("assure-shell").string(), "--socket", socket_of(fleet).string()});
  ASSERT_TRUE(tty.wait_for("engineer: ")) << tty.screen();
  tty.type("alice\r");
  ASSERT_TRUE(tty.wait_for("PIN or passphrase: ")) << tty.screen();
  tty.type(kSecret + "\r");
  ASSERT_TRUE(tty.wait_for("assure> ")) << tty.screen();
  EXPECT_EQ(tty.screen().find(kSecret), std::string::npos) << "the secret is never echoed";
  tty.type("set alarm.exit_d\t");
  ASSERT_TRUE(tty.wait_for("elay ")) << tty.screen();  // the rest of the key, written in by the completion
  tty.type("ten\r");
  ASSERT_TRUE(tty.wait_for("alarm.exit_delay: 'ten' is not a whole number")) << tty.screen();
  tty.type("set alarm.exit_delay 12\r");
  ASSERT_TRUE(tty.wait_for("ok")) << tty.screen();
  tty.type("diff\r");
  ASSERT_TRUE(tty.wait_for("alarm.exit_delay: 30 -> 12")) << tty.screen();
  tty.type("commit from the hallway\r");
  ASSERT_TRUE(tty.wait_for("revision 2 is running")) << tty.screen();
  tty.type("rollback 1\r");
  ASSERT_TRUE(tty.wait_for("revision 3 is running")) << tty.screen();
  tty.type("reboot\r");  // at a terminal it asks first; anything but y keeps the device up
  ASSERT_TRUE(tty.wait_for("[y/N]")) << tty.screen();
  tty.type("n\r");
  ASSERT_TRUE(tty.wait_for("not rebooted")) << tty.screen();
  tty.type("exit\r");
  EXPECT_EQ(tty.wait_exit(), 0) << tty.screen();
  EXPECT_NE(test::read_file(fleet.dir.path() / "device.toml").find("exit_delay = 30"), std::string::npos);
}

TEST(Shell, TheControlRoomsSignedConfigCommandTakesTheSamePath) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_daemon(test::device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n") +
                     "[alarm]\nexit_delay = 30\n[[alarm.zone]]\ninput = \"panic\"\ntype = \"panic\"\n");
  wait_ready(fleet, probe);
  std::this_thread::sleep_for(300ms);
  auto send = [&](const std::string& nonce, json args) -> json {
    probe.publish(std::string(kBase) + "/cmd/config",
                  uplink::sign_command(control_room, "config", "estate-a", "cam-01", std::chrono::system_clock::now(), nonce,
                                       std::move(args)));
    auto reply = probe.wait_for(
        [&](auto& m) { return m.topic == std::string(kBase) + "/reply" && m.payload.find(nonce) != std::string::npos; }, 15s);
    return reply ? json::parse(reply->payload) : json{};
  };
  auto bad = send("nonce-config-00000001", {{"changes", {{{"key", "alarm.exit_delay"}, {"value", "soon"}}}}});
  EXPECT_FALSE(bad.value("ok", true)) << bad.dump();
  EXPECT_NE(bad.dump().find("change 1: alarm.exit_delay: 'soon' is not a whole number"), std::string::npos) << bad.dump();
  auto good = send("nonce-config-00000002", {{"changes", {{{"key", "alarm.exit_delay"}, {"value", 12}}}},
                                             {"comment", "set from the control room"}});
  ASSERT_TRUE(good.value("ok", false)) << good.dump() << fleet.daemon->log();
  EXPECT_EQ(good["result"]["revision"], 2);
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "config_changed").empty(); }, 10s));
  EXPECT_EQ(events(probe, "config_changed")[0]["details"]["who"], "control-room");
  EXPECT_NE(test::read_file(fleet.dir.path() / "device.toml").find("exit_delay = 12"), std::string::npos);
}

TEST(Shell, TestInputShowsAWindowsKnocksAsTheyComeAndTheEventsAndLogAreAtHand) {
  test::Broker broker;
  Fleet fleet;
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  std::string scenario;
  // The engineer taps the window once a second for a minute: whenever the shell starts watching
  // (later on a slow board, or under qemu), it sees knocks counted.
  for (int knock = 0; knock < 60; ++knock) {
    for (bool active : {true, false}) {
      scenario += "[[step]]\nat_ms = " + std::to_string(3000 + knock * 1000 + (active ? 0 : 60)) +
                  "\ninput = \"shock_front_window\"\nactive = " + (active ? "true" : "false") + "\n";
    }
  }
  const auto file = fleet.dir.write("knocks.toml", scenario);
  fleet.start_daemon(kit(broker.uri()) + "[sim]\nscenario = \"" + file.string() + "\"\n");
  wait_ready(fleet, probe);
  add_engineer(fleet);
  std::string log;
  ASSERT_EQ(engineer(fleet, "test input shock_front_window 8", &log), 0) << log << fleet.daemon->log();
  EXPECT_NE(log.find("watching shock_front_window"), std::string::npos) << log;
  EXPECT_NE(log.find("shock_front_window  ACTIVE    (active edges: 3"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped watching"), std::string::npos) << log;
  EXPECT_EQ(engineer(fleet, "test input garage 1", &log), 1);
  EXPECT_NE(log.find("no input \"garage\" (known: "), std::string::npos) << log;
  const auto picture = fleet.dir.path() / "aim.jpg";
  ASSERT_EQ(engineer(fleet, "camera snapshot " + picture.string(), &log), 0) << log << fleet.daemon->log();
  const std::string jpeg = test::read_file(picture);
  ASSERT_GT(jpeg.size(), 1000u) << log;
  EXPECT_EQ(static_cast<unsigned char>(jpeg[0]), 0xFF);
  EXPECT_EQ(static_cast<unsigned char>(jpeg[1]), 0xD8) << "a JPEG";
  ASSERT_EQ(engineer(fleet, "show events 30; show log 100", &log), 0) << log;
  EXPECT_NE(log.find("input              input:shock_front_window"), std::string::npos) << log;
  EXPECT_NE(log.find("watches input shock_front_window"), std::string::npos) << log;
}

TEST(Shell, CameraAimMqttTestAndMotionAndMasksAppliedIntoTheRunningVideo) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  ASSERT_TRUE(control_room.save(fleet.dir.path() / "control-room.key"));
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_receiver(broker.uri(), {"--command-key", (fleet.dir.path() / "control-room.key").string()});
  fleet.start_daemon(test::device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n") +
                     "[[motion.zone]]\nname = \"path\"\npoints = \"0,0.3 1,0.3 1,1 0,1\"\n"
                     "[[motion.zone]]\nname = \"sky\"\npoints = \"0,0 1,0 1,0.05 0,0.05\"\n");
  wait_ready(fleet, probe);
  add_engineer(fleet);
  std::string log;
  // (Ready is the uplink's; on a busy machine the first frame can come a moment later.)
  ASSERT_TRUE(test::eventually([&] { return fleet.daemon->log_contains("video: running"); }, 20s))
      << fleet.daemon->log();

  // Aiming: a line a second from the video that is playing, per named zone.
  ASSERT_EQ(engineer(fleet, "camera aim 4", &log), 0) << log << fleet.daemon->log();
  EXPECT_NE(log.find("aiming: a line a second (zones: path, sky"), std::string::npos) << log;
  std::size_t lines = 0;
  bool path_moved = false;
  for (std::size_t at = log.find("bright "); at != std::string::npos; at = log.find("bright ", at + 1)) {
    ++lines;
    const auto path = log.find(" path ", at);
    if (path != std::string::npos && log.compare(path, 10, " path 0.0%") != 0) path_moved = true;
  }
  EXPECT_GE(lines, 2u) << log;
  EXPECT_TRUE(path_moved) << "people walk on vtest's path: " << log;
  EXPECT_NE(log.find("focus "), std::string::npos) << log;
  EXPECT_NE(log.find("stopped watching"), std::string::npos) << log;

  // The round trip through the broker to the control room (the receiver, with its command key) and back.
  ASSERT_EQ(engineer(fleet, "mqtt test", &log), 0) << log << fleet.daemon->log() << fleet.receiver->log();
  EXPECT_NE(log.find("the control room answered in"), std::string::npos) << log;
  EXPECT_FALSE(events(probe, "link_test").empty());
  EXPECT_TRUE(fleet.receiver->log_contains("link test by engineer:alice: answered")) << fleet.receiver->log();

  // Sensitivity, zones and a privacy mask go into the running pipeline: no restart.
  ASSERT_EQ(engineer(fleet, "show status", &log), 0) << log;
  EXPECT_NE(log.find("video_starts       1"), std::string::npos) << log;
  ASSERT_EQ(engineer(fleet, "set motion.sensitivity 8; delete motion.zone[1]; add privacy.mask; "
                            "set privacy.mask[0].name neighbour; set privacy.mask[0].points 0,0 0.2,0 0.2,0.2 0,0.2; "
                            "show pending-restart; commit tuning on site; show status",
                     &log),
            0)
      << log << fleet.daemon->log();
  EXPECT_NE(log.find("applied live: motion detection and privacy masks (into the running video)"), std::string::npos) << log;
  EXPECT_NE(log.find("restarted:    nothing"), std::string::npos) << log;
  EXPECT_NE(log.find("video_starts       1"), std::string::npos) << log;
  EXPECT_TRUE(fleet.daemon->log_contains("the video runs its new motion and privacy-mask settings (1 mask(s))"))
      << fleet.daemon->log();
  EXPECT_FALSE(fleet.daemon->log_contains("restarting the video pipeline")) << fleet.daemon->log();
  // The mask is in the pictures from now on: the snapshot's top-left corner is black.
  const auto picture = fleet.dir.path() / "masked.jpg";
  ASSERT_EQ(engineer(fleet, "camera snapshot " + picture.string(), &log), 0) << log;
  const cv::Mat shot = cv::imread(picture.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(shot.empty());
  EXPECT_LT(cv::mean(shot(cv::Rect(2, 2, shot.cols / 5 - 4, shot.rows / 5 - 4)))[0], 25.0);
  EXPECT_GT(cv::mean(shot(cv::Rect(shot.cols / 2, shot.rows / 2, shot.cols / 4, shot.rows / 4)))[0], 40.0);
  // The analysis rate is the pipeline's own: that restarts it, and says so first.
  ASSERT_EQ(engineer(fleet, "set motion.analysis_fps 5; show pending-restart; commit; show status", &log), 0) << log;
  EXPECT_NE(log.find("restarted:    video pipeline"), std::string::npos) << log;
  EXPECT_NE(log.find("video_starts       2"), std::string::npos) << log;
  EXPECT_EQ(onlines(probe).size(), 1u) << "the MQTT session never reconnected";
}

TEST(Shell, RebootStopsCleanlyWithTheExitCodeTheUnitRebootsOn) {
  Kit k;
  auto& fleet = k.fleet;
  std::string log;
  {
    // No control room answers here: a link test waits, and a second from the same shell is refused
    // rather than queued behind it.
    test::UnixClient raw(socket_of(fleet));
    ASSERT_EQ(raw.ask({{"op", "login"}, {"name", "alice"}, {"secret", kSecret}})["ok"], true);
    raw.send_raw("{\"op\":\"mqtt-test\",\"id\":1}\n");
    const auto second = raw.ask({{"op", "mqtt-test"}, {"id", 2}});
    EXPECT_EQ(second["id"], 2);
    EXPECT_EQ(second["ok"], false);
    EXPECT_NE(second.value("error", "").find("a link test is already waiting"), std::string::npos) << second.dump();
  }
  ASSERT_EQ(engineer(fleet, "reboot", &log), 0) << log;
  EXPECT_NE(log.find("rebooting"), std::string::npos) << log;
  const auto status = fleet.daemon->wait(30s);
  ASSERT_TRUE(status) << fleet.daemon->log();
  EXPECT_EQ(WEXITSTATUS(*status), app::Daemon::kExitReboot) << fleet.daemon->log();
  EXPECT_TRUE(fleet.daemon->log_contains("alice asked for a reboot")) << fleet.daemon->log();
  ASSERT_TRUE(test::eventually([&] { return !events(k.probe, "reboot_requested").empty(); }, 5s));
  EXPECT_EQ(events(k.probe, "reboot_requested")[0]["details"]["who"], "engineer:alice");
  // The unit reboots on exactly that code, and restarts on every other.
  const std::string unit = test::read_file(test::source_dir() / "firmware" / "systemd" / "assure-edged.service.in");
  EXPECT_NE(unit.find("RestartPreventExitStatus=" + std::to_string(app::Daemon::kExitReboot) + "\n"), std::string::npos);
  EXPECT_NE(unit.find("FailureAction=reboot\n"), std::string::npos);
  EXPECT_NE(unit.find("Restart=always\n"), std::string::npos);
}
