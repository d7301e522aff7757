// alarm::Site on its own: whole evenings of a home kit driven through it on the sim clock, with no
// daemon, no board and no broker. What comes back is checked in order: alarm events with their
// Contact ID codes, shock attacks, refused keyfob presses, the note to the video before each of
// the device's own lights switches, and the switches themselves.

#include <gtest/gtest.h>

#include <algorithm>

#include "assure/drivers/sim_board.hpp"
#include "assure/firmware/alarm/site.hpp"
#include "assure/firmware/kinds.hpp"

using namespace assure;
using namespace assure::alarm;
using namespace std::chrono_literals;

namespace {

SiteSettings home_kit() {
  SiteSettings s;
  s.panel.zones = {{"front_door", ZoneType::entry_exit},
                   {"pir_hall", ZoneType::interior},
                   {"shock_window", ZoneType::instant},
                   {"panic", ZoneType::panic}};
  s.panel.exit_delay = 30s;
  s.panel.entry_delay = 20s;
  s.shocks["shock_window"] = ShockSettings{3, 10s, 0ms};
  s.keyfobs["fob"] = KeyfobAction::toggle;
  LightSettings porch;
  porch.output = "light_porch";
  porch.triggers = {Trigger::camera(), Trigger::on_input("pir_hall"), Trigger::alarm()};
  porch.hold = 60s;
  porch.max_on = 600s;
  porch.darkness = Darkness::sensor;
  porch.dark_input = "photocell";
  s.lights.push_back(porch);
  s.sounder = SounderSettings{"sounder", 900s, false};
  return s;
}

// The time on the sim clock, as the daemon reads it from its hal::Clock.
Moment at(const drivers::SimClock& clock) {
  return {Panel::Time{std::chrono::duration_cast<Panel::Time::duration>(clock.monotonic())}, clock.utc()};
}

template <class T>
std::vector<T> all(const Happenings& happened) {
  std::vector<T> out;
  for (const auto& h : happened) {
    if (const auto* x = std::get_if<T>(&h)) out.push_back(*x);
  }
  return out;
}

std::vector<std::string> kinds(const Happenings& happened) {
  std::vector<std::string> out;
  for (const auto& e : all<AlarmEvent>(happened)) out.emplace_back(to_string(e.kind));
  return out;
}

// "light_porch on", "sounder off", ...
std::vector<std::string> switches(const Happenings& happened) {
  std::vector<std::string> out;
  for (const auto& s : all<Switch>(happened)) out.push_back(s.output + (s.on ? " on" : " off"));
  return out;
}

// Every switch of a light comes straight after the note that tells the video.
bool video_told_first(const Happenings& happened) {
  for (std::size_t i = 0; i < happened.size(); ++i) {
    const auto* s = std::get_if<Switch>(&happened[i]);
    if (s == nullptr || !s->light) continue;
    if (i == 0) return false;
    const auto* note = std::get_if<LightSwitching>(&happened[i - 1]);
    if (note == nullptr || note->output != s->output) return false;
  }
  return true;
}

// A knock on the window: the shock sensor's contact opens for 5 ms.
Happenings knock(Site& site, drivers::SimClock& clock) {
  const auto opened_at = clock.monotonic();
  auto out = site.input("shock_window", true, opened_at, at(clock));
  clock.advance(5ms);
  auto closed = site.input("shock_window", false, clock.monotonic(), at(clock));
  out.insert(out.end(), closed.begin(), closed.end());
  return out;
}

}  // namespace

TEST(Site, AHomeKitsEveningFromComingHomeToABrickThroughTheWindow) {
  drivers::SimClock clock;
  Site site(home_kit());
  EXPECT_TRUE(site.light_sensors() == std::vector<std::string>{"photocell"});
  EXPECT_TRUE(site.light_level("photocell", true, at(clock)).empty()) << "dusk: nothing is switched yet";

  // 18:00, coming home: the door (disarmed: activity only, nothing to report) and the hall PIR,
  // which lights the porch, the video told first.
  EXPECT_TRUE(site.input("front_door", true, clock.monotonic(), at(clock)).empty());
  auto hall = site.input("pir_hall", true, clock.monotonic(), at(clock));
  EXPECT_EQ(switches(hall), std::vector<std::string>{"light_porch on"});
  EXPECT_TRUE(video_told_first(hall));
  EXPECT_TRUE(kinds(hall).empty());
  (void)site.input("front_door", false, clock.monotonic(), at(clock));
  clock.advance(10s);
  (void)site.input("pir_hall", false, clock.monotonic(), at(clock));
  ASSERT_TRUE(site.deadline());
  EXPECT_EQ(*site.deadline(), at(clock).now + 60s) << "the light's hold";
  clock.advance(59s);
  EXPECT_TRUE(site.tick(at(clock)).empty());
  clock.advance(1s);
  auto held = site.tick(at(clock));
  EXPECT_EQ(switches(held), std::vector<std::string>{"light_porch off"});
  EXPECT_TRUE(video_told_first(held));

  // 22:00, bed: the keyfob arms away; the exit delay runs on the clock, not on a sleep.
  clock.advance(4h);
  auto press = site.input("fob", true, clock.monotonic(), at(clock));
  ASSERT_EQ(kinds(press), std::vector<std::string>{"arming"});
  EXPECT_EQ(all<AlarmEvent>(press)[0].user, "keyfob:fob");
  EXPECT_TRUE(site.input("fob", false, clock.monotonic(), at(clock)).empty()) << "a press is the active edge";
  EXPECT_EQ(site.panel().state(), State::exit_delay);
  clock.advance(29s);
  EXPECT_TRUE(site.tick(at(clock)).empty());
  clock.advance(1s);
  auto armed = site.tick(at(clock));
  ASSERT_EQ(kinds(armed), std::vector<std::string>{"armed"});
  EXPECT_EQ(all<AlarmEvent>(armed)[0].code, "401");
  EXPECT_EQ(site.panel().state(), State::armed_away);

  // 02:00: a lorry shakes the window once (no attack), then three blows in as many seconds.
  clock.advance(4h);
  EXPECT_TRUE(knock(site, clock).empty());
  clock.advance(20s);  // outside the window: that first knock no longer counts
  EXPECT_TRUE(knock(site, clock).empty());
  clock.advance(1s);
  EXPECT_TRUE(knock(site, clock).empty());
  clock.advance(1s);
  auto brick = knock(site, clock);
  ASSERT_EQ(all<ShockAttack>(brick).size(), 1u);
  EXPECT_EQ(all<ShockAttack>(brick)[0].input, "shock_window");
  const auto alarms = all<AlarmEvent>(brick);
  ASSERT_GE(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].kind, EventType::burglary);
  EXPECT_EQ(alarms[0].code, "130");
  EXPECT_EQ(alarms[0].severity, Severity::alarm);
  EXPECT_EQ(site.panel().state(), State::alarm);
  EXPECT_EQ(switches(brick), (std::vector<std::string>{"sounder on", "light_porch on"}));
  EXPECT_TRUE(video_told_first(brick));
  // The shock attack is said before the alarm it raised.
  const auto attack_at = std::find_if(brick.begin(), brick.end(), [](auto& h) { return std::holds_alternative<ShockAttack>(h); });
  const auto alarm_at = std::find_if(brick.begin(), brick.end(), [](auto& h) { return std::holds_alternative<AlarmEvent>(h); });
  EXPECT_LT(attack_at - brick.begin(), alarm_at - brick.begin());

  // The light's maximum on-time, then the sounder's cap (UK: never more than 15 minutes here).
  clock.advance(600s);
  EXPECT_EQ(switches(site.tick(at(clock))), std::vector<std::string>{"light_porch off"});
  clock.advance(300s);
  EXPECT_EQ(switches(site.tick(at(clock))), std::vector<std::string>{"sounder off"});
  EXPECT_EQ(site.panel().state(), State::alarm) << "the alarm stands until someone disarms";

  // The control room disarms: the alarm is cancelled (406) and the panel opened (401).
  auto disarmed = site.disarm("control-room", at(clock));
  EXPECT_EQ(kinds(disarmed), (std::vector<std::string>{"alarm_cancelled", "disarmed"}));
  EXPECT_EQ(site.panel().state(), State::disarmed);
  EXPECT_TRUE(site.stop().empty()) << "nothing is left on";
}

TEST(Site, APanicIsSilentInAHomeAndAKeyfobIsRefusedInMaintenance) {
  drivers::SimClock clock;
  Site site(home_kit());
  auto panic = site.input("panic", true, clock.monotonic(), at(clock));
  ASSERT_EQ(kinds(panic), std::vector<std::string>{"panic"});
  EXPECT_EQ(all<AlarmEvent>(panic)[0].code, "120");
  EXPECT_EQ(all<AlarmEvent>(panic)[0].severity, Severity::critical);
  EXPECT_TRUE(switches(panic).empty()) << "a home kit's panic never warns the attacker";

  auto on = site.maintenance(true, "engineer", at(clock));
  ASSERT_TRUE(on);
  EXPECT_EQ(kinds(*on), std::vector<std::string>{"maintenance"});
  EXPECT_EQ(all<AlarmEvent>(*on)[0].code, "627");
  auto press = site.input("fob", true, clock.monotonic(), at(clock));
  const auto refused = all<ArmingRefused>(press);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].input, "fob");
  EXPECT_FALSE(refused[0].reason.empty());
  EXPECT_EQ(site.panel().state(), State::disarmed);
}

TEST(Site, OutputsByHandAndTheirLimits) {
  drivers::SimClock clock;
  Site site(home_kit());
  EXPECT_EQ(site.outputs(), (std::vector<std::string>{"light_porch", "sounder"}));
  auto on = site.output("light_porch", OutputRequest::on, 120s, "control-room", at(clock));
  ASSERT_TRUE(on);
  EXPECT_EQ(switches(*on), std::vector<std::string>{"light_porch on"});
  EXPECT_TRUE(video_told_first(*on));
  EXPECT_EQ(site.output_on("light_porch"), true);
  clock.advance(120s);
  EXPECT_EQ(switches(site.tick(at(clock))), std::vector<std::string>{"light_porch off"}) << "the override ran out";

  auto test_sound = site.output("sounder", OutputRequest::on, 5s, "engineer", at(clock));
  ASSERT_TRUE(test_sound);
  EXPECT_EQ(switches(*test_sound), std::vector<std::string>{"sounder on"});
  EXPECT_EQ(switches(site.stop()), std::vector<std::string>{"sounder off"}) << "a clean stop leaves nothing on";

  auto automatic = site.output("sounder", OutputRequest::automatic, 5s, "engineer", at(clock));
  ASSERT_FALSE(automatic);
  EXPECT_NE(automatic.error().message.find("the sounder takes state"), std::string::npos);
  auto unknown = site.output("garage", OutputRequest::on, 5s, "engineer", at(clock));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("known: light_porch, sounder"), std::string::npos) << unknown.error().message;
  EXPECT_EQ(site.output_on("garage"), std::nullopt);
}

TEST(Site, CameraMotionIsAZoneAndALightTrigger) {
  drivers::SimClock clock;
  auto settings = home_kit();
  settings.panel.zones.push_back({"camera", ZoneType::instant});
  Site site(settings);
  ASSERT_TRUE(site.arm(ArmMode::away, "control-room", at(clock)));
  clock.advance(30s);
  (void)site.tick(at(clock));
  ASSERT_EQ(site.panel().state(), State::armed_away);
  EXPECT_TRUE(site.light_level("photocell", true, at(clock)).empty());
  auto motion = site.motion(true, at(clock));
  EXPECT_EQ(kinds(motion), std::vector<std::string>{"burglary"});
  EXPECT_EQ(all<AlarmEvent>(motion)[0].zone, "camera");
  EXPECT_EQ(switches(motion), (std::vector<std::string>{"sounder on", "light_porch on"}));
}

TEST(Kinds, EveryEventTypeAndSeverityHasOneNameThatReadsBack) {
  std::vector<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(EventType::footage_exported); ++i) {  // the last
    const auto type = static_cast<EventType>(i);
    const auto name = to_string(type);
    EXPECT_NE(name, "unknown") << i;
    EXPECT_EQ(event_type_from(name), type) << name;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "two event types share a name";
  for (auto s : {Severity::info, Severity::warning, Severity::alarm, Severity::critical}) {
    EXPECT_EQ(severity_from(to_string(s)), s);
  }
  EXPECT_EQ(event_type_from("heartbeat_ok"), std::nullopt);
}

TEST(Site, NewSettingsKeepThePanelArmedAndALightOnWithItsNewHold) {
  drivers::SimClock clock;
  Site site(home_kit());
  ASSERT_TRUE(site.light_level("photocell", true, at(clock)).empty());
  ASSERT_TRUE(site.arm(ArmMode::home, "control-room", at(clock)));
  clock.advance(30s);
  ASSERT_EQ(kinds(site.tick(at(clock))), std::vector<std::string>{"armed"});
  ASSERT_EQ(switches(site.motion(true, at(clock))), std::vector<std::string>{"light_porch on"});
  (void)site.motion(false, at(clock));

  auto settings = home_kit();
  settings.panel.exit_delay = 5s;
  settings.lights[0].hold = 20s;  // was 60 s
  auto changed = site.reconfigure(settings, at(clock));
  EXPECT_TRUE(changed.empty()) << "nothing blinks: the light stays on, the panel stays armed";
  EXPECT_EQ(site.panel().state(), State::armed_home);
  EXPECT_EQ(site.output_on("light_porch"), true);
  clock.advance(20s);
  EXPECT_EQ(switches(site.tick(at(clock))), std::vector<std::string>{}) << "the hold that was running carries on";
  clock.advance(40s);
  EXPECT_EQ(switches(site.tick(at(clock))), std::vector<std::string>{"light_porch off"});
  ASSERT_EQ(switches(site.motion(true, at(clock))), std::vector<std::string>{"light_porch on"});
  (void)site.motion(false, at(clock));
  clock.advance(20s);
  EXPECT_EQ(switches(site.tick(at(clock))), std::vector<std::string>{"light_porch off"}) << "the new hold, from now on";

  // A light taken out of the settings while on is switched off, the video told.
  ASSERT_EQ(switches(site.motion(true, at(clock))), std::vector<std::string>{"light_porch on"});
  settings.lights.clear();
  auto removed = site.reconfigure(settings, at(clock));
  EXPECT_EQ(switches(removed), std::vector<std::string>{"light_porch off"});
  EXPECT_TRUE(video_told_first(removed));
  EXPECT_EQ(site.panel().state(), State::armed_home);
}
