// The devices the alarm logic drives and reads: shock pulse counting, sunrise and sunset, the
// security light (hold time, darkness, override, maximum on-time) and the sounder (armed only,
// capped, panic silent).

#include <gtest/gtest.h>

#include "assure/firmware/alarm/outputs.hpp"
#include "assure/firmware/alarm/shock.hpp"
#include "assure/firmware/alarm/sun.hpp"

using namespace assure;
using namespace assure::alarm;
using namespace std::chrono_literals;
using Time = SecurityLight::Time;
using Utc = SecurityLight::Utc;

namespace {

// A knock: the contact opens at `at` for `held`.
std::optional<std::string> knock(ShockCounter& counter, std::chrono::nanoseconds at, std::chrono::nanoseconds held = 5ms) {
  auto opened = counter.edge(true, at);
  auto closed = counter.edge(false, at + held);
  return opened ? opened : closed;
}

Utc utc(int y, unsigned m, unsigned d, int h, int min) {
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} + std::chrono::hours{h} +
         std::chrono::minutes{min};
}

// Minutes between two instants, signed.
double minutes(Utc a, Utc b) { return std::chrono::duration<double, std::ratio<60>>(a - b).count(); }

}  // namespace

TEST(Shock, OneKnockIsALorryPassingAndSeveralInTheWindowAreAnAttack) {
  ShockCounter counter({.pulses = 3, .window = 10s, .gross = 0ms});
  EXPECT_FALSE(knock(counter, 0s));
  EXPECT_FALSE(knock(counter, 4s));
  auto third = knock(counter, 8s);
  ASSERT_TRUE(third);
  EXPECT_NE(third->find("3 knocks in 8.0 s"), std::string::npos) << *third;
  EXPECT_EQ(counter.recent_pulses(), 0u) << "the count starts again after an attack";
}

TEST(Shock, KnocksFurtherApartThanTheWindowNeverAddUp) {
  ShockCounter counter({.pulses = 3, .window = 10s, .gross = 0ms});
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(knock(counter, std::chrono::seconds{i * 6})) << "knock " << i;
}

TEST(Shock, OneHeavyBlowIsAGrossAttackButAShortOneIsNot) {
  ShockCounter counter({.pulses = 5, .window = 10s, .gross = 200ms});
  EXPECT_FALSE(knock(counter, 0s, 50ms));
  auto blow = knock(counter, 20s, 350ms);
  ASSERT_TRUE(blow);
  EXPECT_NE(blow->find("gross attack"), std::string::npos) << *blow;
  EXPECT_NE(blow->find("350 ms"), std::string::npos) << *blow;
}

TEST(Shock, ARepeatedLevelIsNotAnotherKnock) {
  ShockCounter counter({.pulses = 2, .window = 10s, .gross = 0ms});
  EXPECT_FALSE(counter.edge(true, 0s));
  EXPECT_FALSE(counter.edge(true, 1s));
  EXPECT_FALSE(counter.edge(false, 2s));
  EXPECT_FALSE(counter.edge(false, 3s));
  EXPECT_TRUE(counter.edge(true, 4s));
}

// Published times (timeanddate.com) for London, 51.5074 N 0.1278 W, and Tromso, 69.65 N 18.96 E.
TEST(Sun, SunriseAndSunsetInLondonAreWithinTwoMinutesOfThePublishedTimes) {
  struct Case {
    Utc noon, rise, set;
  } cases[] = {
      {utc(2026, 6, 21, 12, 0), utc(2026, 6, 21, 3, 43), utc(2026, 6, 21, 20, 21)},
      {utc(2026, 12, 21, 12, 0), utc(2026, 12, 21, 8, 4), utc(2026, 12, 21, 15, 54)},
      {utc(2026, 3, 20, 12, 0), utc(2026, 3, 20, 6, 3), utc(2026, 3, 20, 18, 14)},
  };
  for (const auto& c : cases) {
    const SunDay day = sun_day(51.5074, -0.1278, c.noon);
    ASSERT_TRUE(day.sunrise && day.sunset);
    EXPECT_NEAR(minutes(*day.sunrise, c.rise), 0, 2);
    EXPECT_NEAR(minutes(*day.sunset, c.set), 0, 2);
  }
}

TEST(Sun, ItIsDarkBetweenSunsetAndSunriseWhateverTheUtcDay) {
  EXPECT_TRUE(is_dark(51.5074, -0.1278, utc(2026, 12, 21, 23, 0)));
  EXPECT_TRUE(is_dark(51.5074, -0.1278, utc(2026, 12, 22, 7, 50)));
  EXPECT_FALSE(is_dark(51.5074, -0.1278, utc(2026, 12, 22, 8, 30)));
  EXPECT_FALSE(is_dark(51.5074, -0.1278, utc(2026, 6, 21, 20, 10)));
  EXPECT_TRUE(is_dark(51.5074, -0.1278, utc(2026, 6, 21, 20, 40)));
  // Far west: a late-evening sunset falls on the next UTC day (Honolulu, 21.3 N 157.86 W).
  EXPECT_FALSE(is_dark(21.3069, -157.8583, utc(2026, 6, 22, 4, 30)));  // 18:30 local
  EXPECT_TRUE(is_dark(21.3069, -157.8583, utc(2026, 6, 22, 6, 0)));    // 20:00 local
}

TEST(Sun, MidnightSunAndPolarNightAreNeitherSunriseNorSunset) {
  const SunDay summer = sun_day(69.65, 18.96, utc(2026, 6, 21, 12, 0));
  EXPECT_TRUE(summer.always_up);
  EXPECT_FALSE(is_dark(69.65, 18.96, utc(2026, 6, 21, 23, 30)));
  const SunDay winter = sun_day(69.65, 18.96, utc(2026, 12, 21, 12, 0));
  EXPECT_TRUE(winter.always_down);
  EXPECT_TRUE(is_dark(69.65, 18.96, utc(2026, 12, 21, 11, 0)));
}

namespace {

const Time t0{};
const Utc night = utc(2026, 11, 24, 22, 0);

LightSettings porch() {
  LightSettings s;
  s.output = "light_porch";
  s.triggers = {Trigger::camera(), Trigger::on_input("pir_hall"), Trigger::alarm()};
  s.hold = 60s;
  s.max_on = 600s;
  return s;
}

}  // namespace

TEST(SecurityLight, ComesOnForATriggerAndGoesOffAfterTheHoldFromTheLastActivity) {
  SecurityLight light(porch());
  auto on = light.trigger(Trigger::camera(), true, t0, night);
  ASSERT_EQ(on.size(), 1u);
  EXPECT_TRUE(on[0].on);
  EXPECT_EQ(on[0].output, "light_porch");
  EXPECT_EQ(on[0].reason, "motion");
  EXPECT_TRUE(light.trigger(Trigger::on_input("pir_hall"), true, t0 + 5s, night).empty()) << "already on";
  EXPECT_TRUE(light.trigger(Trigger::camera(), false, t0 + 20s, night).empty());
  EXPECT_TRUE(light.tick(t0 + 100s).empty()) << "the PIR still sees someone";
  EXPECT_TRUE(light.trigger(Trigger::on_input("pir_hall"), false, t0 + 120s, night).empty());
  EXPECT_EQ(light.deadline(), t0 + 180s);
  EXPECT_TRUE(light.tick(t0 + 179s).empty());
  auto off = light.tick(t0 + 180s);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_FALSE(off[0].on);
  EXPECT_NE(off[0].reason.find("hold time"), std::string::npos);
  EXPECT_FALSE(light.deadline());
}

TEST(SecurityLight, ANewTriggerDuringTheHoldKeepsItOn) {
  SecurityLight light(porch());
  ASSERT_EQ(light.trigger(Trigger::on_input("pir_hall"), true, t0, night).size(), 1u);
  (void)light.trigger(Trigger::on_input("pir_hall"), false, t0 + 1s, night);
  EXPECT_TRUE(light.tick(t0 + 50s).empty());
  EXPECT_TRUE(light.trigger(Trigger::on_input("pir_hall"), true, t0 + 50s, night).empty());
  (void)light.trigger(Trigger::on_input("pir_hall"), false, t0 + 51s, night);
  EXPECT_TRUE(light.tick(t0 + 61s).empty()) << "the first hold would have ended here";
  EXPECT_EQ(light.tick(t0 + 111s).size(), 1u);
}

TEST(SecurityLight, StaysOffInDaylightByTheSunOrByTheSensor) {
  LightSettings sun = porch();
  sun.darkness = Darkness::sun;
  sun.latitude = 51.5074;
  sun.longitude = -0.1278;
  SecurityLight by_sun(sun);
  EXPECT_TRUE(by_sun.trigger(Trigger::camera(), true, t0, utc(2026, 11, 24, 12, 0)).empty());
  (void)by_sun.trigger(Trigger::camera(), false, t0 + 1s, utc(2026, 11, 24, 12, 0));
  EXPECT_EQ(by_sun.trigger(Trigger::camera(), true, t0 + 2s, utc(2026, 11, 24, 17, 0)).size(), 1u);

  LightSettings sensor = porch();
  sensor.darkness = Darkness::sensor;
  sensor.dark_input = "photocell";
  SecurityLight by_sensor(sensor);
  EXPECT_TRUE(by_sensor.trigger(Trigger::camera(), true, t0, night).empty()) << "the photocell says it is light";
  (void)by_sensor.trigger(Trigger::camera(), false, t0 + 1s, night);
  (void)by_sensor.dark_sensor(true, t0 + 2s);
  EXPECT_EQ(by_sensor.trigger(Trigger::camera(), true, t0 + 3s, night).size(), 1u);
}

TEST(SecurityLight, TheMaximumOnTimeCutsItOffUntilTheTriggersRest) {
  SecurityLight light(porch());
  ASSERT_EQ(light.trigger(Trigger::camera(), true, t0, night).size(), 1u);  // a flag in the wind, say
  EXPECT_EQ(light.deadline(), t0 + 600s);
  auto off = light.tick(t0 + 600s);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_FALSE(off[0].on);
  EXPECT_NE(off[0].reason.find("maximum on-time"), std::string::npos);
  EXPECT_TRUE(light.trigger(Trigger::on_input("pir_hall"), true, t0 + 601s, night).empty()) << "capped until everything rests";
  (void)light.trigger(Trigger::on_input("pir_hall"), false, t0 + 602s, night);
  (void)light.trigger(Trigger::camera(), false, t0 + 603s, night);
  EXPECT_EQ(light.trigger(Trigger::camera(), true, t0 + 604s, night).size(), 1u) << "a fresh trigger lights it again";
}

TEST(SecurityLight, AManualOverrideWinsForItsTimeThenAutomaticResumes) {
  SecurityLight light(porch());
  auto on = light.override(Override::on, 300s, "control-room", t0);
  ASSERT_EQ(on.size(), 1u);
  EXPECT_TRUE(on[0].on);
  EXPECT_NE(on[0].reason.find("control-room"), std::string::npos);
  EXPECT_EQ(light.deadline(), t0 + 300s);
  auto back = light.tick(t0 + 300s);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_FALSE(back[0].on);

  // Off by hand while motion would have it on: stays off, then the motion's light comes back.
  ASSERT_EQ(light.trigger(Trigger::camera(), true, t0 + 400s, night).size(), 1u);
  auto dark = light.override(Override::off, 120s, "engineer", t0 + 410s);
  ASSERT_EQ(dark.size(), 1u);
  EXPECT_FALSE(dark[0].on);
  auto resumed = light.override(Override::none, 0s, "engineer", t0 + 420s);
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_TRUE(resumed[0].on);
}

TEST(SecurityLight, IgnoresWhatIsNotItsTrigger) {
  SecurityLight light(porch());
  EXPECT_FALSE(light.triggered_by(Trigger::on_input("shock_front_window")));
  EXPECT_TRUE(light.trigger(Trigger::on_input("shock_front_window"), true, t0, night).empty());
  EXPECT_FALSE(light.on());
}

namespace {

AlarmEvent panel_event(EventType kind, State state, std::string zone = "shock_window", bool held_off = false) {
  AlarmEvent e;
  e.kind = kind;
  e.state = state;
  e.zone = std::move(zone);
  e.held_off = held_off;
  e.user = "keyfob";
  return e;
}

}  // namespace

TEST(Sounder, SoundsForAnAlarmWhileArmedAndStopsOnDisarm) {
  Sounder sounder({.output = "sounder", .max = 900s, .panic_audible = false});
  auto on = sounder.panel({panel_event(EventType::burglary, State::alarm)}, t0);
  ASSERT_EQ(on.size(), 1u);
  EXPECT_TRUE(on[0].on);
  EXPECT_EQ(on[0].output, "sounder");
  auto off = sounder.panel({panel_event(EventType::alarm_cancelled, State::disarmed), panel_event(EventType::disarmed, State::disarmed)},
                           t0 + 30s);
  ASSERT_EQ(off.size(), 1u);
  EXPECT_FALSE(off[0].on);
}

TEST(Sounder, NeverSoundsWhileDisarmedInMaintenanceOrForASilentPanic) {
  Sounder sounder({.output = "sounder", .max = 900s, .panic_audible = false});
  EXPECT_TRUE(sounder.panel({panel_event(EventType::tamper, State::disarmed, "tamper_lid")}, t0).empty());
  EXPECT_TRUE(sounder.panel({panel_event(EventType::activity, State::disarmed)}, t0).empty());
  EXPECT_TRUE(sounder.panel({panel_event(EventType::burglary, State::armed_away, "shock_window", true)}, t0).empty());
  EXPECT_TRUE(sounder.panel({panel_event(EventType::panic, State::armed_away, "panic")}, t0).empty());
  EXPECT_TRUE(sounder.panel({panel_event(EventType::panic, State::alarm, "panic")}, t0).empty());
  EXPECT_FALSE(sounder.on());

  Sounder audible({.output = "sounder", .max = 900s, .panic_audible = true});
  EXPECT_EQ(audible.panel({panel_event(EventType::panic, State::disarmed, "panic")}, t0).size(), 1u);
}

TEST(Sounder, IsCappedAndDoesNotSoundAgainUntilDisarmed) {
  Sounder sounder({.output = "sounder", .max = 1200s, .panic_audible = false});
  ASSERT_EQ(sounder.panel({panel_event(EventType::burglary, State::alarm)}, t0).size(), 1u);
  EXPECT_EQ(sounder.deadline(), t0 + 1200s);
  EXPECT_TRUE(sounder.tick(t0 + 1199s).empty());
  auto capped = sounder.tick(t0 + 1200s);
  ASSERT_EQ(capped.size(), 1u);
  EXPECT_FALSE(capped[0].on);
  EXPECT_NE(capped[0].reason.find("cap of 1200 s"), std::string::npos);
  EXPECT_TRUE(sounder.panel({panel_event(EventType::burglary, State::alarm, "pir_hall")}, t0 + 1300s).empty());
  (void)sounder.panel({panel_event(EventType::disarmed, State::disarmed)}, t0 + 1400s);
  EXPECT_EQ(sounder.panel({panel_event(EventType::burglary, State::alarm)}, t0 + 2000s).size(), 1u) << "a new alarm";
}

TEST(Sounder, ASilenceHoldsForTheAlarmAndATestSoundEndsOnItsOwn) {
  Sounder sounder({.output = "sounder", .max = 900s, .panic_audible = false});
  ASSERT_EQ(sounder.panel({panel_event(EventType::burglary, State::alarm)}, t0).size(), 1u);
  ASSERT_EQ(sounder.override(false, 0s, "control-room", t0 + 10s).size(), 1u);
  EXPECT_TRUE(sounder.panel({panel_event(EventType::burglary, State::alarm, "pir_hall")}, t0 + 20s).empty());
  (void)sounder.panel({panel_event(EventType::disarmed, State::disarmed)}, t0 + 30s);
  auto test = sounder.override(true, 5s, "engineer", t0 + 40s);
  ASSERT_EQ(test.size(), 1u);
  EXPECT_EQ(sounder.deadline(), t0 + 45s);
  auto done = sounder.tick(t0 + 45s);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].on);
  // A test sound asked for longer than the cap is cut at the cap.
  (void)sounder.override(true, 3600s, "engineer", t0 + 100s);
  EXPECT_EQ(sounder.deadline(), t0 + 1000s);
}
