// assure-edged as a process, on the sim board, with a real mosquitto and real video.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kStatus = "assure/v1/estate-a/cam-01/status";
constexpr const char* kHeartbeat = "assure/v1/estate-a/cam-01/heartbeat";

std::string device_file(const std::string& broker_uri, const std::string& extra = "") {
  return "[device]\nid = \"cam-01\"\nsite = \"estate-a\"\nstate_dir = \"state\"\n"
         "[mqtt]\nbrokers = [\"" + broker_uri + "\"]\nkeepalive = 2\nreconnect_min = 100\nreconnect_max = 500\n"
         "[heartbeat]\ninterval = 1\n[evidence]\ndir = \"clips\"\n" + extra;
}

std::unique_ptr<test::Process> start_daemon(const test::TempDir& dir, const std::string& config_text) {
  auto config = dir.write("device.toml", config_text);
  return std::make_unique<test::Process>(
      std::vector<std::string>{test::binary("assure-edged").string(), "--config", config.string(),
                               "--board-dir", (test::source_dir() / "board").string()},
      dir.path() / "daemon.log");
}

bool is_state(const test::Received& m, const std::string& state, const std::string& reason = "") {
  if (m.topic != kStatus) return false;
  auto j = json::parse(m.payload, nullptr, false);
  return !j.is_discarded() && j.value("state", "") == state && (reason.empty() || j.value("reason", "") == reason);
}

}  // namespace

TEST(Daemon, ComesOnlineHeartbeatsAndItsWillFiresWhenKilled) {
  test::Broker broker;
  test::TempDir dir;
  test::Probe probe(broker.uri(), "assure/v1/#");
  auto daemon = start_daemon(dir, device_file(broker.uri()));

  auto online = probe.wait_for([](auto& m) { return is_state(m, "online"); }, 20s);
  ASSERT_TRUE(online) << daemon->log();
  auto birth = json::parse(online->payload);
  EXPECT_EQ(birth["firmware"], "0.1.0");
  EXPECT_EQ(birth["board"], "sim");
  EXPECT_EQ(birth["boot_id"].get<std::string>().size(), 32u);

  // Heartbeats carry frames from the real video (vtest.avi at 10 fps, paced as a camera). (The
  // first frame can be counted a moment before the daemon's loop has heard the video started.)
  auto beat = probe.wait_for(
      [](auto& m) {
        if (m.topic != kHeartbeat) return false;
        const auto j = json::parse(m.payload);
        return j.value("frames", 0) > 0 && j.value("video", "") == "running";
      },
      20s);
  ASSERT_TRUE(beat) << daemon->log();
  auto health = json::parse(beat->payload);
  EXPECT_EQ(health["video"], "running");
  EXPECT_EQ(health["boot_id"], birth["boot_id"]);

  // Power cut: the broker sees the connection drop and publishes the retained will.
  daemon->signal(SIGKILL);
  ASSERT_TRUE(probe.wait_for([](auto& m) { return is_state(m, "offline", "connection lost"); }, 10s));
  // A control room connecting later still learns the device is offline: the will is retained.
  test::Probe late(broker.uri(), kStatus);
  auto retained = late.wait_for([](auto& m) { return m.retained; }, 5s);
  ASSERT_TRUE(retained);
  EXPECT_TRUE(is_state(*retained, "offline", "connection lost"));
}

TEST(Daemon, StopsCleanlyOnSigtermAndSaysSo) {
  for (int signal_number : {SIGTERM, SIGINT}) {
    test::Broker broker;
    test::TempDir dir;
    test::Probe probe(broker.uri(), "assure/v1/#");
    auto daemon = start_daemon(dir, device_file(broker.uri()));
    ASSERT_TRUE(probe.wait_for([](auto& m) { return is_state(m, "online"); }, 20s)) << daemon->log();
    daemon->signal(signal_number);
    auto status = daemon->wait(10s);
    ASSERT_TRUE(status) << "did not stop on signal " << signal_number << "\n" << daemon->log();
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    EXPECT_TRUE(probe.wait_for([](auto& m) { return is_state(m, "offline", "shutdown"); }, 5s));
    EXPECT_TRUE(daemon->log_contains("stopped after"));
  }
}

// Under systemd (Type=notify, WatchdogSec=): ready once running, kicked well inside the watchdog
// time, stopping on the way out. systemd is stood in for by a socket of the test's own.
TEST(Daemon, TellsSystemdItIsReadyKicksItsWatchdogAndSaysWhenStopping) {
  test::TempDir dir;
  test::NotifySocket systemd(dir.path() / "notify");
  ::setenv("NOTIFY_SOCKET", (dir.path() / "notify").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "900000", 1);
  auto daemon = start_daemon(dir, device_file("tcp://127.0.0.1:1"));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  std::string first;
  for (int i = 0; i < 20 && first.empty(); ++i) first = systemd.receive(1s);
  EXPECT_EQ(first.rfind("READY=1\nSTATUS=running: board sim", 0), 0u) << first << daemon->log();
  int kicks = 0;
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < until) kicks += systemd.receive(500ms) == "WATCHDOG=1";
  EXPECT_GE(kicks, 4) << "900 ms WatchdogSec needs a kick at least every 450 ms";
  daemon->signal(SIGTERM);
  bool stopping = false;
  for (int i = 0; i < 50 && !stopping; ++i) stopping = systemd.receive(200ms).starts_with("STOPPING=1");
  EXPECT_TRUE(stopping);
  auto status = daemon->wait(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0) << daemon->log();
  EXPECT_TRUE(daemon->log_contains("watchdog: systemd's, kicked every 300 ms"));
}

// A board whose watchdog device is not a watchdog: said once, by name, and the device runs on.
TEST(Daemon, AWatchdogDeviceThatIsNotOneIsReportedOnceAndTheDeviceRunsOn) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "boards" / "sim");
  std::string board = test::read_file(test::source_dir() / "board" / "sim" / "board.toml");
  const auto at = board.find("device = \"sim\"");
  ASSERT_NE(at, std::string::npos);
  board.replace(at, std::string("device = \"sim\"").size(), "device = \"/dev/null\"");
  std::ofstream(dir.path() / "boards" / "sim" / "board.toml") << board;
  auto config = dir.write("device.toml", device_file("tcp://127.0.0.1:1", "[watchdog]\ntimeout = 3\n"
                                                     "[camera]\nsource = \"test\"\n"));
  test::Process daemon({test::binary("assure-edged").string(), "--config", config.string(), "--board-dir",
                        (dir.path() / "boards").string()},
                       dir.path() / "daemon.log");
  ASSERT_TRUE(test::eventually([&] { return daemon.log_contains("video: running"); }, 20s)) << daemon.log();
  std::this_thread::sleep_for(2500ms);  // past two kicks at a third of 3 s
  EXPECT_TRUE(daemon.running()) << daemon.log();
  const std::string log = daemon.log();
  // qemu-user does not implement the watchdog ioctls: there the kernel's ENOTTY is its ENOSYS, and
  // the driver can only say the timeout could not be set. Refused once and run on, either way.
  const std::string said = test::emulated() ? "watchdog /dev/null: cannot set a 3 s timeout: Function not implemented"
                                            : "/dev/null is not a watchdog device (Inappropriate ioctl for device)";
  EXPECT_NE(log.find(said + "; running WITHOUT the board's watchdog"), std::string::npos) << log;
  EXPECT_EQ(log.find(said), log.rfind(said)) << "said more than once:\n" << log;
  EXPECT_EQ(log.find("kicked before"), std::string::npos) << log;
  daemon.signal(SIGTERM);
  EXPECT_TRUE(daemon.wait(20s));
}

TEST(Daemon, AnUnreachableBrokerIsLoggedAndRetriedNotFatal) {
  test::DeadPort dead;
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(dead.port());
  test::TempDir dir;
  auto daemon = start_daemon(dir, device_file(uri));
  ASSERT_TRUE(test::eventually([&] { return daemon->log_contains("retrying in"); }, 20s)) << daemon->log();
  EXPECT_TRUE(daemon->log_contains("mqtt: cannot connect to " + uri));
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(daemon->running()) << daemon->log();
  // The broker comes up on that address: the device gets there by itself.
  dead.release();
  test::Broker broker(dead.port());
  test::Probe probe(broker.uri(), "assure/v1/#");
  EXPECT_TRUE(probe.wait_for([](auto& m) { return is_state(m, "online"); }, 20s)) << daemon->log();
}

TEST(Daemon, AMissingVideoFileIsReportedAndRetriedWhileTheDeviceStaysOnline) {
  test::Broker broker;
  test::TempDir dir;
  test::Probe probe(broker.uri(), "assure/v1/#");
  const auto missing = dir.path() / "no-camera.avi";
  auto daemon = start_daemon(
      dir, device_file(broker.uri(), "[camera]\nsource = \"file\"\nlocation = \"" + missing.string() + "\"\n"));
  ASSERT_TRUE(probe.wait_for([](auto& m) { return is_state(m, "online"); }, 20s)) << daemon->log();
  auto beat = probe.wait_for(
      [](auto& m) { return m.topic == kHeartbeat && json::parse(m.payload).value("video", "") == "lost"; }, 20s);
  ASSERT_TRUE(beat) << daemon->log();
  EXPECT_GE(json::parse(beat->payload)["video_losses"].get<int>(), 1);
  EXPECT_TRUE(daemon->log_contains("video lost: file source: no video file at '" + missing.string() + "'"));
  EXPECT_TRUE(daemon->log_contains("retrying in"));
  EXPECT_TRUE(daemon->running());
}

TEST(Daemon, PlaysASimScenarioAndCountsTheInputEdges) {
  test::Broker broker;
  test::TempDir dir;
  test::Probe probe(broker.uri(), "assure/v1/#");
  dir.write("scenario.toml",
            "[[step]]\nat_ms = 200\ninput = \"pir_hall\"\nactive = true\n"
            "[[step]]\nat_ms = 400\ninput = \"pir_hall\"\nactive = false\n");
  auto daemon = start_daemon(dir, device_file(broker.uri(), "[sim]\nscenario = \"scenario.toml\"\n"));
  auto beat = probe.wait_for(
      [](auto& m) { return m.topic == kHeartbeat && json::parse(m.payload).value("input_edges", 0) == 2; }, 20s);
  ASSERT_TRUE(beat) << daemon->log();
  EXPECT_TRUE(daemon->log_contains("input pir_hall active"));
  EXPECT_TRUE(daemon->log_contains("input pir_hall inactive"));
}

TEST(Daemon, ABadConfigFileStopsItWithTheLineAndKey) {
  test::TempDir dir;
  auto daemon = start_daemon(dir, "[device]\nid = \"cam-01\"\nsite = \"estate-a\"\n[heartbeat]\ninterval = 0\n");
  auto status = daemon->wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_TRUE(daemon->log_contains((dir.path() / "device.toml").string() +
                                   ":5:12: heartbeat.interval: 0 is below the minimum 1 s"))
      << daemon->log();
}

TEST(Daemon, CheckValidatesConfigAndBoardWithoutRunning) {
  test::TempDir dir;
  auto config = dir.write("device.toml", device_file("tcp://127.0.0.1:1"));
  test::Process check({test::binary("assure-edged").string(), "--config", config.string(), "--board-dir",
                       (test::source_dir() / "board").string(), "--check"},
                      dir.path() / "check.log");
  auto status = check.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0) << check.log();
  EXPECT_TRUE(check.log_contains("ok (board sim, 8 inputs, 2 outputs)"));

  auto other = dir.write("other.toml", "[device]\nid = \"cam-01\"\nsite = \"estate-a\"\nboard = \"nope\"\n");
  test::Process missing({test::binary("assure-edged").string(), "--config", other.string(), "--board-dir",
                         (test::source_dir() / "board").string(), "--check"},
                        dir.path() / "missing.log");
  status = missing.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_TRUE(missing.log_contains("nope/board.toml")) << missing.log();
}
