// assure-receiver as a process: what a device says reaches the control room's screen, and what
// nobody should have sent does not stop it.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("topic")) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST(Receiver, ShowsADeviceComingOnlineHeartbeatingAndGoing) {
  test::Broker broker;
  test::TempDir dir;
  test::Process receiver({test::binary("assure-receiver").string(), "--broker", broker.uri()},
                         dir.path() / "receiver.log");
  ASSERT_TRUE(test::eventually([&] { return receiver.log_contains("listening on assure/v1/+/+/#"); }, 10s));
  auto config = dir.write("device.toml", "[device]\nid = \"cam-01\"\nsite = \"estate-a\"\nstate_dir = \"state\"\n[mqtt]\nbrokers = [\"" +
                                             broker.uri() + "\"]\n[heartbeat]\ninterval = 1\n");
  {
    test::Process daemon({test::binary("assure-edged").string(), "--config", config.string(), "--board-dir",
                          (test::source_dir() / "board").string()},
                         dir.path() / "daemon.log");
    ASSERT_TRUE(test::eventually([&] { return receiver.log_contains("heartbeat  up "); }, 20s)) << receiver.log();
    daemon.signal(SIGKILL);
    ASSERT_TRUE(daemon.wait(5s));
  }
  ASSERT_TRUE(test::eventually([&] { return receiver.log_contains("OFFLINE  (connection lost)"); }, 10s))
      << receiver.log();
  EXPECT_TRUE(receiver.log_contains("estate-a/cam-01          status     ONLINE   firmware 0.1.0"));
  receiver.signal(SIGTERM);
  auto status = receiver.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(Receiver, JsonModeGivesOneObjectPerMessageAndSurvivesGarbage) {
  test::Broker broker;
  test::TempDir dir;
  test::Process receiver({test::binary("assure-receiver").string(), "--broker", broker.uri(), "--json", "--site",
                          "estate-a"},
                         dir.path() / "receiver.log");
  ASSERT_TRUE(test::eventually([&] { return receiver.log_contains("listening on assure/v1/estate-a/+/#"); }, 10s));
  test::Probe sender(broker.uri(), "nothing/#");
  sender.publish("assure/v1/estate-a/cam-09/heartbeat", std::string("\xff\xfe not json", 11));
  sender.publish("assure/v1/other-site/cam-01/heartbeat", R"({"frames":1})");  // filtered out by --site
  sender.publish("assure/v1/estate-a/cam-09/status", R"({"state":"online","firmware":"9.9"})", true);
  ASSERT_TRUE(test::eventually([&] { return json_lines(receiver.log()).size() >= 2; }, 10s)) << receiver.log();
  auto lines = json_lines(receiver.log());
  ASSERT_EQ(lines.size(), 2u) << receiver.log();
  EXPECT_EQ(lines[0]["error"], "payload is not JSON");
  EXPECT_EQ(lines[0]["device"], "cam-09");
  EXPECT_EQ(lines[1]["kind"], "status");
  EXPECT_EQ(lines[1]["payload"]["firmware"], "9.9");
  EXPECT_TRUE(receiver.running());
}

TEST(Receiver, WaitsForABrokerThatIsNotThereYet) {
  test::DeadPort dead;
  test::TempDir dir;
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(dead.port());
  test::Process receiver({test::binary("assure-receiver").string(), "--broker", uri}, dir.path() / "receiver.log");
  ASSERT_TRUE(test::eventually([&] { return receiver.log_contains("retrying in"); }, 10s)) << receiver.log();
  dead.release();
  test::Broker broker(dead.port());
  EXPECT_TRUE(test::eventually([&] { return receiver.log_contains("listening on"); }, 15s)) << receiver.log();
}
