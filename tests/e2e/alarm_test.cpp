// The alarm side end to end on the sim board: scenario files drive the inputs as wiring would,
// assure-edged runs the panel and its devices, and what reaches a real mosquitto on loopback is
// checked: Contact ID events, shock attacks counted from knocks, the security light with its hold
// time, the sounder capped and silent for a panic, keyfob arming, power troubles, and the signed
// outputs command.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "assure/firmware/evidence/signing.hpp"
#include "fleet.hpp"
#include "scene_parts.hpp"
#include "scenes.hpp"
#include "support.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/base/utc.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;
using test::device_file;
using test::Fleet;
using test::kBase;

namespace {

std::string step(int at_ms, const std::string& input, bool active) {
  return "[[step]]\nat_ms = " + std::to_string(at_ms) + "\ninput = \"" + input + "\"\nactive = " +
         (active ? "true" : "false") + "\n";
}

// The events the probe has seen, in order; those of one type when given.
std::vector<json> events(test::Probe& probe, const std::string& type = "") {
  std::vector<json> out;
  for (const auto& m : probe.all()) {
    if (m.topic != std::string(kBase) + "/event") continue;
    auto e = json::parse(m.payload);
    if (type.empty() || e["type"] == type) out.push_back(std::move(e));
  }
  return out;
}

std::vector<json> outputs(test::Probe& probe, const std::string& output) {
  std::vector<json> out;
  for (auto& e : events(probe, "output")) {
    if (e["source"] == "output:" + output) out.push_back(e);
  }
  return out;
}

double seconds_between(const json& a, const json& b) {
  auto ta = assure::parse_utc_iso8601(a["time"].get<std::string>());
  auto tb = assure::parse_utc_iso8601(b["time"].get<std::string>());
  return std::chrono::duration<double>(*tb - *ta).count();
}

}  // namespace

TEST(Alarm, ZonesRaiseContactIdEventsAndASignedArmCommandArmsThePanel) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  const auto scenario = fleet.dir.write("scenario.toml", step(2500, "panic", true) + step(2700, "panic", false) +
                                                             step(3000, "panic", true) + step(3200, "panic", false) +
                                                             step(6000, "shock_front_window", true));
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_daemon(device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n") +
                     "[sim]\nscenario = \"" + scenario.string() + "\"\n"
                     "[alarm]\nexit_delay = 0\n"
                     "[[alarm.zone]]\ninput = \"panic\"\ntype = \"panic\"\n"
                     "[[alarm.zone]]\ninput = \"shock_front_window\"\ntype = \"instant\"\n"
                     "[[alarm.zone]]\ninput = \"tamper_lid\"\ntype = \"tamper\"\n");
  ASSERT_TRUE(probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/status"; }, 20s))
      << fleet.daemon->log();
  std::this_thread::sleep_for(300ms);
  probe.publish(std::string(kBase) + "/cmd/arm",
                uplink::sign_command(control_room, "arm", "estate-a", "cam-01", std::chrono::system_clock::now(),
                                     "nonce-arm-00000001", {{"mode", "away"}}));
  auto reply = probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/reply"; }, 10s);
  ASSERT_TRUE(reply) << fleet.daemon->log();
  EXPECT_TRUE(json::parse(reply->payload)["ok"].get<bool>()) << reply->payload;
  EXPECT_EQ(json::parse(reply->payload)["result"]["state"], "armed_away");

  ASSERT_TRUE(test::eventually([&] { return !events(probe, "burglary").empty(); }, 20s)) << fleet.daemon->log();
  const auto armed = events(probe, "armed");
  ASSERT_FALSE(armed.empty());
  EXPECT_EQ(armed[0]["details"]["contact_id"], "401");
  const auto panics = events(probe, "panic");
  ASSERT_EQ(panics.size(), 2u);
  EXPECT_EQ(panics[0]["details"]["contact_id"], "120");
  EXPECT_EQ(panics[0]["severity"], "critical");
  EXPECT_FALSE(panics[0]["details"]["confirmed"].get<bool>());
  EXPECT_TRUE(panics[1]["details"]["confirmed"].get<bool>());  // a second press within two minutes
  const auto burglary = events(probe, "burglary")[0];
  EXPECT_EQ(burglary["details"]["contact_id"], "130");
  EXPECT_EQ(burglary["zone"], "shock_front_window");
  EXPECT_EQ(burglary["details"]["state"], "alarm");

  probe.publish(std::string(kBase) + "/cmd/disarm",
                uplink::sign_command(control_room, "disarm", "estate-a", "cam-01", std::chrono::system_clock::now(),
                                     "nonce-disarm-000001"));
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "disarmed").empty(); }, 10s));
  EXPECT_FALSE(events(probe, "alarm_cancelled").empty());
  fleet.daemon->signal(SIGTERM);
  fleet.daemon->wait(20s);
}

// A home kit through an evening: armed by keyfob, a silent panic, a PIR lighting the porch for its
// hold time, a lorry's single knock, then a window attacked (three knocks) sounding the sounder
// until its cap, a mains failure and its restore, and the keyfob disarming.
TEST(Alarm, AHomeKitsEveningFromKeyfobToSounderCapOnTheSimBoard) {
  test::Broker broker;
  Fleet fleet;
  const auto scenario = fleet.dir.write(
      "scenario.toml",
      step(1500, "keyfob", true) + step(1700, "keyfob", false) +                  // arm (toggle)
      step(2500, "panic", true) + step(2700, "panic", false) +                    // silent panic
      step(3000, "pir_hall", true) + step(3400, "pir_hall", false) +              // the porch light, 2 s hold
      step(3600, "shock_front_window", true) + step(3610, "shock_front_window", false) +  // a lorry: one knock
      step(5000, "shock_front_window", true) + step(5010, "shock_front_window", false) +
      step(5300, "shock_front_window", true) + step(5310, "shock_front_window", false) +
      step(5600, "shock_front_window", true) + step(5610, "shock_front_window", false) +  // third knock: attack
      step(6000, "mains_fail", true) + step(7500, "mains_fail", false) +
      step(18000, "keyfob", true) + step(18200, "keyfob", false));                // disarm (toggle)
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_daemon(device_file(broker.uri()) + "[sim]\nscenario = \"" + scenario.string() + "\"\n"
                     "[alarm]\nexit_delay = 0\n"
                     "[[alarm.zone]]\ninput = \"panic\"\ntype = \"panic\"\n"
                     "[[alarm.zone]]\ninput = \"shock_front_window\"\ntype = \"instant\"\n"
                     "[[alarm.zone]]\ninput = \"pir_hall\"\ntype = \"interior\"\n"
                     "[[alarm.zone]]\ninput = \"mains_fail\"\ntype = \"mains\"\n"
                     "[[alarm.shock]]\ninput = \"shock_front_window\"\npulses = 3\nwindow = 2000\n"
                     "[[alarm.keyfob]]\ninput = \"keyfob\"\naction = \"toggle\"\n"
                     "[[light]]\noutput = \"light_porch\"\ntriggers = [\"pir_hall\"]\nhold = 5\ndark = \"always\"\n"
                     "[sounder]\noutput = \"sounder\"\nmax = 10\n");
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "disarmed").empty(); }, 40s)) << fleet.daemon->log();

  // Armed by the keyfob, through the same entry point as the control room.
  const auto armed = events(probe, "armed");
  ASSERT_EQ(armed.size(), 1u) << fleet.daemon->log();
  const auto arming = events(probe, "arming");
  ASSERT_EQ(arming.size(), 1u);
  EXPECT_EQ(arming[0]["details"]["user"], "keyfob:keyfob");

  // The panic reached the control room and never sounded the sounder.
  const auto panics = events(probe, "panic");
  ASSERT_EQ(panics.size(), 1u);
  EXPECT_EQ(panics[0]["details"]["contact_id"], "120");

  // The PIR (armed away: an intruder in the hall) is an alarm too; the window attack follows.
  // One knock was a lorry; the three knocks are one shock attack and one burglary on the window.
  const auto shocks = events(probe, "shock");
  ASSERT_EQ(shocks.size(), 1u) << fleet.daemon->log();
  EXPECT_NE(shocks[0]["details"]["why"].get<std::string>().find("3 knocks"), std::string::npos) << shocks[0].dump();
  std::vector<json> window_alarms;
  for (auto& b : events(probe, "burglary")) {
    if (b["zone"] == "shock_front_window") window_alarms.push_back(b);
  }
  ASSERT_EQ(window_alarms.size(), 1u);
  EXPECT_EQ(window_alarms[0]["details"]["contact_id"], "130");

  // The sounder: on for the first alarm (the PIR at 3 s, not the panic at 2.5 s), off at its cap.
  const auto sounder = outputs(probe, "sounder");
  ASSERT_GE(sounder.size(), 2u) << fleet.daemon->log();
  EXPECT_TRUE(sounder[0]["details"]["on"].get<bool>());
  EXPECT_GT(seconds_between(panics[0], sounder[0]), 0.3) << "the sounder came on for the panic";
  EXPECT_FALSE(sounder[1]["details"]["on"].get<bool>());
  EXPECT_NE(sounder[1]["details"]["reason"].get<std::string>().find("cap of 10 s"), std::string::npos);
  EXPECT_NEAR(seconds_between(sounder[0], sounder[1]), 10.0, 0.6);
  EXPECT_EQ(sounder.size(), 2u) << "it sounded again after its cap";

  // The porch light: on for the PIR, off after the 5 s hold from the PIR going quiet.
  const auto light = outputs(probe, "light_porch");
  ASSERT_EQ(light.size(), 2u) << fleet.daemon->log();
  EXPECT_TRUE(light[0]["details"]["on"].get<bool>());
  EXPECT_EQ(light[0]["details"]["reason"], "input pir_hall");
  EXPECT_FALSE(light[1]["details"]["on"].get<bool>());
  EXPECT_NEAR(seconds_between(light[0], light[1]), 0.4 + 5.0, 0.5);

  // Mains lost and back: 301 and its restore.
  const auto mains = events(probe, "mains_lost");
  ASSERT_EQ(mains.size(), 1u);
  EXPECT_EQ(mains[0]["details"]["contact_id"], "301");
  bool restored = false;
  for (auto& r : events(probe, "restore")) restored |= r["zone"] == "mains_fail" && r["details"]["contact_id"] == "301";
  EXPECT_TRUE(restored);

  // Disarmed by the keyfob.
  EXPECT_EQ(events(probe, "disarmed")[0]["details"]["user"], "keyfob:keyfob");
  EXPECT_TRUE(fleet.daemon->log_contains("shock shock_front_window: 3 knocks")) << fleet.daemon->log();
  // Each switch of the light was announced to the video first, so it is not taken for motion.
  EXPECT_TRUE(fleet.daemon->log_contains("output light_porch on: input pir_hall (the video was told)"));
  fleet.daemon->signal(SIGTERM);
  fleet.daemon->wait(20s);
}

TEST(Alarm, SignedCommandsSwitchTheLightByHandAndPutTheSiteInMaintenance) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_daemon(device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n") +
                     "[[light]]\noutput = \"light_porch\"\ntriggers = [\"pir_hall\"]\ndark = \"sensor\"\n"
                     "dark_input = \"photocell\"\n"
                     "[sounder]\noutput = \"sounder\"\n");
  ASSERT_TRUE(probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/status"; }, 20s))
      << fleet.daemon->log();
  std::this_thread::sleep_for(300ms);
  auto command = [&](const std::string& nonce, json args) -> json {
    probe.publish(std::string(kBase) + "/cmd/outputs",
                  uplink::sign_command(control_room, "outputs", "estate-a", "cam-01", std::chrono::system_clock::now(),
                                       nonce, std::move(args)));
    auto reply = probe.wait_for(
        [&](auto& m) {
          return m.topic == std::string(kBase) + "/reply" && m.payload.find(nonce) != std::string::npos;
        },
        10s);
    return reply ? json::parse(reply->payload) : json{};
  };
  auto on = command("nonce-outputs-0001", {{"output", "light_porch"}, {"state", "on"}, {"seconds", 2}});
  ASSERT_TRUE(on.value("ok", false)) << on.dump() << fleet.daemon->log();
  EXPECT_TRUE(on["result"]["on"].get<bool>());
  ASSERT_TRUE(test::eventually([&] { return outputs(probe, "light_porch").size() >= 2; }, 10s)) << fleet.daemon->log();
  const auto light = outputs(probe, "light_porch");
  EXPECT_TRUE(light[0]["details"]["on"].get<bool>());
  EXPECT_NE(light[0]["details"]["reason"].get<std::string>().find("control-room"), std::string::npos);
  EXPECT_FALSE(light[1]["details"]["on"].get<bool>());
  EXPECT_NEAR(seconds_between(light[0], light[1]), 2.0, 0.5);

  auto unknown = command("nonce-outputs-0002", {{"output", "garage"}, {"state", "on"}});
  EXPECT_FALSE(unknown.value("ok", true));
  EXPECT_NE(unknown.dump().find("known: light_porch, sounder"), std::string::npos) << unknown.dump();
  auto bad_state = command("nonce-outputs-0003", {{"output", "sounder"}, {"state", "auto"}});
  EXPECT_FALSE(bad_state.value("ok", true));
  auto bad_type = command("nonce-outputs-0004", {{"output", "light_porch"}, {"state", "on"}, {"seconds", "ten"}});
  EXPECT_FALSE(bad_type.value("ok", true)) << bad_type.dump();
  EXPECT_NE(bad_type.dump().find("seconds"), std::string::npos) << bad_type.dump();

  // The engineer arrives: maintenance on, reported with Contact ID 627.
  probe.publish(std::string(kBase) + "/cmd/maintenance",
                uplink::sign_command(control_room, "maintenance", "estate-a", "cam-01", std::chrono::system_clock::now(),
                                     "nonce-maintenance-1", {{"on", true}}));
  ASSERT_TRUE(test::eventually([&] { return !events(probe, "maintenance").empty(); }, 10s)) << fleet.daemon->log();
  EXPECT_EQ(events(probe, "maintenance")[0]["details"]["contact_id"], "627");
  EXPECT_EQ(events(probe, "maintenance")[0]["details"]["user"], "control-room");
  fleet.daemon->signal(SIGTERM);
  auto status = fleet.daemon->wait(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0) << fleet.daemon->log();
}

namespace {

// The daemon refuses a device file that asks for what the board has not got, naming it.
void expect_refused(const std::string& extra, const std::string& message) {
  Fleet fleet;
  fleet.start_daemon(device_file("tcp://127.0.0.1:1") + extra);
  auto status = fleet.daemon->wait(20s);
  ASSERT_TRUE(status);
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_TRUE(fleet.daemon->log_contains(message)) << fleet.daemon->log();
}

}  // namespace

TEST(Alarm, AnAlarmZoneOnAnInputTheBoardLacksStopsTheDaemonNamingIt) {
  expect_refused("[[alarm.zone]]\ninput = \"garage_door\"\ntype = \"entry_exit\"\n",
                 "alarm.zone input 'garage_door' is not an input of board 'sim'");
}

TEST(Alarm, ALightOnAnOutputTheBoardLacksStopsTheDaemonNamingIt) {
  expect_refused("[[light]]\noutput = \"floodlight\"\ndark = \"always\"\n",
                 "light output 'floodlight' is not an output of board 'sim'");
}

// The camera pushed round to face a wall, on the real daemon with a real broker: the camera's
// tamper event with its kind, the panel's sensor-tamper alarm (Contact ID 144) from the
// camera_tamper zone, the heartbeat saying so, and the engineer's signed accept_view ending it.
TEST(Alarm, ACameraPushedRoundRaisesTamperWithContactId144AndAcceptingTheViewRestoresIt) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  const cv::Mat street = test::parts::background(1);
  const auto wall = test::scene("moved-wall");  // the wall from its frame 150 on
  const test::Scene pushed{"pushed", 400, 10, {}, {}, [&](int f) { return f < 60 ? street.clone() : wall.render(200); }};
  const auto video = (fleet.dir.path() / "pushed.mp4").string();
  ASSERT_EQ(test::write_video(pushed, video), "");
  std::string config = device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n") +
                       "[[alarm.zone]]\ninput = \"camera_tamper\"\ntype = \"sensor_tamper\"\n";
  const std::string vtest = test::vtest_avi().string();
  config.replace(config.find(vtest), vtest.size(), video);
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_daemon(config);
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& e : events(probe, "tamper")) {
          if (e["source"] == "camera:cam0") return true;
        }
        return false;
      },
      40s))
      << fleet.daemon->log();
  json camera, panel;
  for (const auto& e : events(probe, "tamper")) (e["source"] == "camera:cam0" ? camera : panel) = e;
  EXPECT_EQ(camera["details"]["kind"], "moved");
  EXPECT_EQ(camera["severity"], "alarm");
  ASSERT_TRUE(test::eventually([&] { return events(probe, "tamper").size() >= 2; }, 5s)) << fleet.daemon->log();
  for (const auto& e : events(probe, "tamper")) {
    if (e["source"] != "camera:cam0") panel = e;
  }
  EXPECT_EQ(panel["zone"], "camera_tamper");
  EXPECT_EQ(panel["details"]["contact_id"], "144");
  ASSERT_TRUE(probe.wait_for(
      [](auto& m) {
        return m.topic == std::string(kBase) + "/heartbeat" && json::parse(m.payload).value("tamper", json()) == "moved";
      },
      5s));

  probe.publish(std::string(kBase) + "/cmd/accept_view",
                uplink::sign_command(control_room, "accept_view", "estate-a", "cam-01", std::chrono::system_clock::now(),
                                     "nonce-accept-000001"));
  auto reply = probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/reply"; }, 10s);
  ASSERT_TRUE(reply) << fleet.daemon->log();
  EXPECT_TRUE(json::parse(reply->payload)["ok"].get<bool>()) << reply->payload;
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& e : events(probe, "restore")) {
          if (e["source"] == "camera:cam0" && e["details"]["accepted"] == true) return true;
        }
        return false;
      },
      10s))
      << fleet.daemon->log();
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& e : events(probe, "restore")) {
          if (e["zone"] == "camera_tamper" && e["details"]["contact_id"] == "144") return true;
        }
        return false;
      },
      5s));
  EXPECT_NE(fleet.daemon->log().find("accepted the camera's current view"), std::string::npos);
  fleet.daemon->signal(SIGTERM);
  fleet.daemon->wait(20s);
}
