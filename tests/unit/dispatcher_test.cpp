// The command table, table-driven: every command of a device, good and bad arguments, unknown
// commands, answered the same whoever asks (the control room now, the engineer's shell next).
// The commands act on a real alarm::Site; the daemon's part (carrying out, the video) is played by
// a recorder of what the commands asked it to do. Also the main loop's Schedule on the sim clock.

#include <gtest/gtest.h>

#include "assure/drivers/sim_board.hpp"
#include "assure/firmware/device_commands.hpp"
#include "assure/firmware/dispatcher.hpp"
#include "assure/firmware/schedule.hpp"

using namespace assure;
using namespace assure::app;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

alarm::SiteSettings kit() {
  alarm::SiteSettings s;
  s.panel.zones = {{"front_door", alarm::ZoneType::entry_exit}, {"panic", alarm::ZoneType::panic}};
  s.panel.exit_delay = 30s;
  s.panel.entry_delay = 30s;
  alarm::LightSettings porch;
  porch.output = "light_porch";
  porch.triggers = {alarm::Trigger::camera()};
  porch.hold = 60s;
  porch.max_on = 600s;
  s.lights.push_back(porch);
  s.sounder = alarm::SounderSettings{"sounder", 900s, false};
  return s;
}

// What the daemon lends its commands, recorded.
class Recorder final : public DeviceControl {
 public:
  Recorder() : site_(kit()) {}
  alarm::Site& site() override { return site_; }
  alarm::Moment now() const override {
    return {alarm::Panel::Time{std::chrono::duration_cast<alarm::Panel::Time::duration>(clock.monotonic())}, clock.utc()};
  }
  void carry_out(const alarm::Happenings& happened) override { carried += happened.size(); }
  json identity() const override { return {{"firmware", "test"}, {"boot_id", "b00t"}, {"uptime_s", 7}}; }
  std::string no_picture() const override { return video; }
  void request_snapshot() override { ++snapshots; }
  std::string accept_view(std::string_view) override { return ""; }
  Result<std::size_t> resend_clip(const std::string& clip) override {
    if (clip != "clip-1") return fail(Errc::not_found, "no signed manifest for clip " + clip + " on this device");
    return std::size_t{4};
  }
  Result<json> change_config(const json& args, std::string_view who) override {
    config_calls.push_back({{"args", args}, {"who", who}});
    return json{{"revision", 2}};
  }
  bool link_echo(const std::string& nonce) override {
    echoes.push_back(nonce);
    return nonce == waiting;
  }
  std::string no_evidence_store() const override { return store; }
  std::string store = "no continuous recording here";  // why not; empty: there is a store

  drivers::SimClock clock;
  std::size_t carried = 0;
  int snapshots = 0;
  std::string video;  // why no picture; empty: the video runs
  std::vector<json> config_calls;
  std::vector<std::string> echoes;
  std::string waiting = "n0nce-of-a-link-test";

 private:
  alarm::Site site_;
};

struct Row {
  const char* command;
  const char* args;    // JSON
  bool ok;
  const char* answer;  // a part of the error (refused) or of the result (done)
};

std::ostream& operator<<(std::ostream& out, const Row& r) { return out << r.command << " " << r.args; }

class Commands : public testing::TestWithParam<Row> {};

}  // namespace

TEST_P(Commands, AreAnsweredByTheTable) {
  const Row& row = GetParam();
  Recorder device;
  const Dispatcher table = device_commands(device);
  const Reply reply = table.dispatch(row.command, json::parse(row.args), "control-room");
  EXPECT_EQ(reply.ok, row.ok) << reply.error;
  const std::string said = reply.ok ? reply.result.dump() : reply.error;
  EXPECT_NE(said.find(row.answer), std::string::npos) << said;
  // The engineer's shell gets the same words for the same request.
  Recorder other;
  const Reply again = device_commands(other).dispatch(row.command, json::parse(row.args), "engineer:alice");
  EXPECT_EQ(again.ok, reply.ok);
  if (!reply.ok) {
    EXPECT_EQ(again.error, reply.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryCommand, Commands,
    testing::Values(
        Row{"ping", "{}", true, "\"boot_id\":\"b00t\""},
        Row{"ping", "null", true, "\"firmware\":\"test\""},
        Row{"reboot", "{}", false,
            "unknown command \"reboot\" (known: ping, snapshot, accept_view, resend_clip, arm, disarm, maintenance, outputs, config, echo, hold, release, export)"},
        Row{"arm", "{}", true, "\"state\":\"exit_delay\""},
        Row{"arm", "{\"mode\":\"home\"}", true, "\"state\":\"exit_delay\""},
        Row{"arm", "{\"mode\":\"sideways\"}", false, "\"mode\" must be one of \"away\", \"home\", not \"sideways\""},
        Row{"arm", "{\"mode\":3}", false, "\"mode\" must be a string"},
        Row{"arm", "{\"zone\":\"x\"}", false, "arm takes no argument \"zone\" (it takes: mode)"},
        Row{"arm", "[1,2]", false, "the arguments of arm must be an object"},
        Row{"disarm", "{}", true, "\"state\":\"disarmed\""},
        Row{"maintenance", "{}", false, "maintenance needs \"on\""},
        Row{"maintenance", "{\"on\":\"yes\"}", false, "\"on\" must be true or false"},
        Row{"maintenance", "{\"on\":true}", true, "\"maintenance\":true"},
        Row{"outputs", "{\"output\":\"light_porch\",\"state\":\"on\"}", true, "\"on\":true"},
        Row{"outputs", "{\"output\":\"light_porch\",\"state\":\"auto\",\"seconds\":5}", true, "\"on\":false"},
        Row{"outputs", "{\"output\":\"light_porch\",\"state\":\"on\",\"seconds\":0}", false,
            "\"seconds\" must be 1 to 86400"},
        Row{"outputs", "{\"output\":\"light_porch\",\"state\":\"on\",\"seconds\":18446744073709551615}", false,
            "\"seconds\" must be 1 to 86400"},
        Row{"outputs", "{\"output\":\"light_porch\",\"state\":\"on\",\"seconds\":\"ten\"}", false,
            "\"seconds\" must be a whole number"},
        Row{"outputs", "{\"output\":\"light_porch\",\"state\":\"dim\"}", false,
            "\"state\" must be one of \"on\", \"off\", \"auto\", not \"dim\""},
        Row{"outputs", "{\"state\":\"on\"}", false, "outputs needs \"output\""},
        Row{"outputs", "{\"output\":\"garage\",\"state\":\"on\"}", false,
            "no output \"garage\" is under the device's control (known: light_porch, sounder)"},
        Row{"outputs", "{\"output\":\"sounder\",\"state\":\"auto\"}", false, "the sounder takes state"},
        Row{"outputs", "{\"output\":\"sounder\",\"state\":\"on\",\"seconds\":3}", true, "\"on\":true"},
        Row{"resend_clip", "{\"clip\":\"clip-1\"}", true, "\"messages\":4"},
        Row{"resend_clip", "{\"clip\":\"clip-2\"}", false, "no signed manifest for clip clip-2"},
        Row{"resend_clip", "{}", false, "resend_clip needs \"clip\""},
        Row{"snapshot", "{}", true, "null"},
        Row{"config", "{\"changes\":[{\"key\":\"alarm.exit_delay\",\"value\":\"10\"}]}", true, "\"revision\":2"},
        Row{"config", "{\"changes\":\"alarm.exit_delay=10\"}", false, "\"changes\" must be a list"},
        Row{"config", "{\"changes\":[],\"confirm_minutes\":0}", false, "\"confirm_minutes\" must be 1 to 60"},
        Row{"config", "{}", false, "config needs \"changes\""}));

TEST(Commands, AnEchoEndsALinkTestAndComesOnlyFromTheControlRoom) {
  Recorder device;
  const Dispatcher table = device_commands(device);
  Reply reply = table.dispatch("echo", json{{"test", "n0nce-of-a-link-test"}}, "control-room");
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_EQ(reply.result["waiting"], true);
  reply = table.dispatch("echo", json{{"test", "one nobody waits for"}}, "control-room");
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_EQ(reply.result["waiting"], false);
  // From the engineer's shell an echo would prove nothing about the link: refused, never passed on.
  reply = table.dispatch("echo", json{{"test", "n0nce-of-a-link-test"}}, "engineer:alice");
  EXPECT_FALSE(reply.ok);
  EXPECT_NE(reply.error.find("only from the control room"), std::string::npos) << reply.error;
  EXPECT_EQ(device.echoes.size(), 2u);
  EXPECT_FALSE(table.dispatch("echo", json::object(), "control-room").ok);
}

TEST(Commands, ASnapshotWaitsForTheNextFrameOrSaysWhyThereIsNone) {
  Recorder device;
  const Dispatcher table = device_commands(device);
  const Reply later = table.dispatch("snapshot", json::object(), "control-room");
  EXPECT_TRUE(later.later);
  EXPECT_EQ(device.snapshots, 1);
  device.video = "the video is lost";
  const Reply none = table.dispatch("snapshot", json::object(), "control-room");
  EXPECT_FALSE(none.ok);
  EXPECT_FALSE(none.later);
  EXPECT_EQ(none.error, "no picture: the video is lost");
  EXPECT_EQ(device.snapshots, 1);
}

TEST(Commands, WhatTheSiteDoesIsCarriedOutAndArmingIsRefusedWithTheState) {
  Recorder device;
  const Dispatcher table = device_commands(device);
  ASSERT_TRUE(table.dispatch("maintenance", {{"on", true}}, "control-room").ok);
  EXPECT_GT(device.carried, 0u) << "the maintenance event went out";
  const Reply refused = table.dispatch("arm", json::object(), "control-room");
  EXPECT_FALSE(refused.ok);
  EXPECT_FALSE(refused.error.empty());
  EXPECT_EQ(refused.result["state"], "disarmed");
}

TEST(Dispatcher, AHandlerThatThrowsIsARefusalNotACrash) {
  Dispatcher table;
  table.add({"explode", "throws", {{.name = "n", .type = Arg::Type::integer, .fallback = 1}},
             [](const json& args, std::string_view) -> Reply {
               if (args["n"] == 1) throw std::runtime_error("boom");
               return Reply::done();
             }});
  const Reply reply = table.dispatch("explode", json::object(), "engineer:bob");
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.error, "explode failed: boom");
  EXPECT_TRUE(table.dispatch("explode", {{"n", 2}}, "engineer:bob").ok) << "the fallback is only a fallback";
  EXPECT_EQ(table.names(), std::vector<std::string>{"explode"});
}

TEST(Schedule, HeartbeatsAndWatchdogKicksRunOnTheSimClock) {
  drivers::SimClock clock;
  auto now = [&] { return Schedule::Time{std::chrono::duration_cast<Schedule::Time::duration>(clock.monotonic())}; };
  const auto kick = Schedule::kick_interval(15s, std::nullopt);
  ASSERT_EQ(kick, std::chrono::milliseconds{5000}) << "a third of the board's timeout";
  EXPECT_EQ(Schedule::kick_interval(15s, std::chrono::microseconds{6'000'000}), std::chrono::milliseconds{2000})
      << "the shorter of the board's and systemd's";
  EXPECT_EQ(Schedule::kick_interval(0s, std::nullopt), std::nullopt);
  EXPECT_EQ(Schedule::kick_interval(0s, std::chrono::microseconds{150'000}), std::chrono::milliseconds{100});

  Schedule schedule(now(), 30s, kick);
  auto due = schedule.due(now());
  EXPECT_TRUE(due.kick) << "the first kick is at once";
  EXPECT_FALSE(due.heartbeat);
  EXPECT_EQ(schedule.wake_at(std::nullopt), now() + 5s);
  EXPECT_EQ(schedule.wake_at(now() + 2s), now() + 2s) << "the site's deadline comes first";
  int kicks = 0, heartbeats = 0;
  for (int i = 0; i < 600; ++i) {  // a minute in tenths of a second
    clock.advance(100ms);
    const auto d = schedule.due(now());
    kicks += d.kick;
    heartbeats += d.heartbeat;
  }
  EXPECT_EQ(kicks, 12);
  EXPECT_EQ(heartbeats, 2);
  Schedule no_watchdog(now(), 30s, std::nullopt);
  EXPECT_EQ(no_watchdog.wake_at(std::nullopt), now() + 30s);
  EXPECT_FALSE(no_watchdog.due(now()).kick);
}

// Holds, releases and exports: the police's, from the control room only, carried out by the
// evidence store (the reply comes later), and refused where there is none.
TEST(Commands, HoldsReleasesAndExportsComeOnlyFromTheControlRoomAndNeedAStore) {
  Recorder device;
  Dispatcher table = device_commands(device);
  const json hold{{"reference", "CAD-1"}, {"from", "2026-12-01T22:10:00Z"}, {"to", "2026-12-01T22:40:00Z"}, {"by", "PC 1"}};
  Reply r = table.dispatch("hold", hold, "control-room");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "no continuous recording here");
  device.store.clear();
  r = table.dispatch("hold", hold, "alice");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("only from the control room"), std::string::npos) << r.error;
  r = table.dispatch("hold", hold, "control-room");
  EXPECT_TRUE(r.ok && r.later);
  r = table.dispatch("export", {{"from", "2026-12-01T22:10:00Z"}, {"to", "2026-12-01T22:40:00Z"}}, "control-room");
  EXPECT_FALSE(r.ok) << "an export names who asked and why";
  r = table.dispatch("export", {{"from", "a"}, {"to", "b"}, {"requester", "PC 1"}, {"reason", "CAD-1"}}, "control-room");
  EXPECT_TRUE(r.ok && r.later) << "the times are checked by the store, which answers";
  r = table.dispatch("release", {{"reference", "CAD-1"}, {"by", "PC 1"}}, "control-room");
  EXPECT_TRUE(r.ok && r.later);
}
