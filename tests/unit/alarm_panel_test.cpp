// The alarm state machine, table-driven: every state against every zone type and every command,
// with the state it ends in and the Contact ID code it reports.

#include <gtest/gtest.h>

#include "assure/firmware/alarm/panel.hpp"

using namespace assure;
using namespace assure::alarm;
using namespace std::chrono_literals;
using Time = Panel::Time;

namespace {

const Time t0{};

PanelSettings kit() {
  PanelSettings s;
  s.zones = {{"front_door", ZoneType::entry_exit}, {"shock_window", ZoneType::instant},
             {"pir_hall", ZoneType::interior},     {"tamper_lid", ZoneType::tamper},
             {"panic", ZoneType::panic},           {"safe", ZoneType::twenty_four_hour},
             {"mains_fail", ZoneType::mains},      {"battery_low", ZoneType::battery},
             {"camera_tamper", ZoneType::sensor_tamper}};
  s.exit_delay = 30s;
  s.entry_delay = 20s;
  return s;
}

// A panel brought to `state` the way a household would get there; returns the time it got there.
Time bring(Panel& panel, State state) {
  Time now = t0;
  if (state == State::disarmed) return now;
  const ArmMode mode = state == State::armed_home ? ArmMode::home : ArmMode::away;
  EXPECT_TRUE(panel.arm(mode, "keyfob", now));
  if (state == State::exit_delay) return now;
  now += 31s;
  panel.tick(now);
  if (state == State::armed_away || state == State::armed_home) return now;
  if (state == State::entry_delay) {
    EXPECT_TRUE(panel.zone("front_door", true, now));
    return now;
  }
  EXPECT_TRUE(panel.zone("shock_window", true, now));  // alarm
  return now;
}

struct Row {
  State from;
  std::string action;  // a zone name opened, "disarm", "arm", "tick"
  State to;
  std::string kind;    // of the last event ("" : no event)
  std::string code;
};

std::ostream& operator<<(std::ostream& out, const Row& r) {
  return out << to_string(r.from) << " + " << r.action << " -> " << to_string(r.to) << " (" << r.kind << " " << r.code << ")";
}

class Transitions : public ::testing::TestWithParam<Row> {};

}  // namespace

TEST_P(Transitions, EndInTheRightStateWithTheRightCode) {
  const Row& row = GetParam();
  Panel panel(kit());
  Time now = bring(panel, row.from);
  ASSERT_EQ(panel.state(), row.from);
  std::vector<AlarmEvent> events;
  if (row.action == "disarm") {
    events = panel.disarm("control-room", now);
  } else if (row.action == "arm") {
    auto armed = panel.arm(ArmMode::away, "keyfob", now);
    if (armed) events = *armed;
  } else if (row.action == "tick") {
    events = panel.tick(now + 60s);
  } else {
    auto got = panel.zone(row.action, true, now);
    ASSERT_TRUE(got) << got.error().message;
    events = *got;
  }
  EXPECT_EQ(panel.state(), row.to);
  if (row.kind.empty()) {
    EXPECT_TRUE(events.empty());
  } else {
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(to_string(events.back().kind), row.kind);
    EXPECT_EQ(events.back().code, row.code);
    EXPECT_EQ(events.back().state, row.to);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryStateEveryInput, Transitions,
    ::testing::Values(
        // disarmed: only panic, tamper and 24-hour zones raise; the rest is activity
        Row{State::disarmed, "front_door", State::disarmed, "activity", ""},
        Row{State::disarmed, "shock_window", State::disarmed, "activity", ""},
        Row{State::disarmed, "pir_hall", State::disarmed, "activity", ""},
        Row{State::disarmed, "tamper_lid", State::disarmed, "tamper", "137"},
        Row{State::disarmed, "safe", State::disarmed, "burglary", "133"},
        Row{State::disarmed, "camera_tamper", State::disarmed, "tamper", "144"},
        Row{State::disarmed, "panic", State::disarmed, "panic", "120"},
        Row{State::disarmed, "arm", State::exit_delay, "arming", ""},
        Row{State::disarmed, "disarm", State::disarmed, "", ""},
        Row{State::disarmed, "tick", State::disarmed, "", ""},
        // exit delay: the way out is allowed, a window is not
        Row{State::exit_delay, "front_door", State::exit_delay, "activity", ""},
        Row{State::exit_delay, "pir_hall", State::exit_delay, "activity", ""},
        Row{State::exit_delay, "shock_window", State::alarm, "burglary", "130"},
        Row{State::exit_delay, "tamper_lid", State::alarm, "tamper", "137"},
        Row{State::exit_delay, "panic", State::exit_delay, "panic", "120"},
        Row{State::exit_delay, "tick", State::armed_away, "armed", "401"},
        Row{State::exit_delay, "disarm", State::disarmed, "disarmed", "401"},
        // armed away
        Row{State::armed_away, "front_door", State::entry_delay, "entry", ""},
        Row{State::armed_away, "shock_window", State::alarm, "burglary", "130"},
        Row{State::armed_away, "pir_hall", State::alarm, "burglary", "132"},
        Row{State::armed_away, "tamper_lid", State::alarm, "tamper", "137"},
        Row{State::armed_away, "safe", State::alarm, "burglary", "133"},
        Row{State::armed_away, "camera_tamper", State::alarm, "tamper", "144"},
        Row{State::armed_away, "panic", State::armed_away, "panic", "120"},
        Row{State::armed_away, "disarm", State::disarmed, "disarmed", "401"},
        Row{State::armed_away, "tick", State::armed_away, "", ""},
        // armed home: the interior is where the household sleeps
        Row{State::armed_home, "pir_hall", State::armed_home, "activity", ""},
        Row{State::armed_home, "front_door", State::entry_delay, "entry", ""},
        Row{State::armed_home, "shock_window", State::alarm, "burglary", "130"},
        Row{State::armed_home, "panic", State::armed_home, "panic", "120"},
        Row{State::armed_home, "disarm", State::disarmed, "disarmed", "401"},
        // entry delay: the way to the keypad waits, a window does not, time running out is an alarm
        Row{State::entry_delay, "pir_hall", State::entry_delay, "activity", ""},
        Row{State::entry_delay, "shock_window", State::alarm, "burglary", "130"},
        Row{State::entry_delay, "tamper_lid", State::alarm, "tamper", "137"},
        Row{State::entry_delay, "panic", State::entry_delay, "panic", "120"},
        Row{State::entry_delay, "tick", State::alarm, "burglary", "134"},
        Row{State::entry_delay, "disarm", State::disarmed, "disarmed", "401"},
        // alarm: more zones are still reported; disarm cancels
        Row{State::alarm, "pir_hall", State::alarm, "burglary", "132"},
        Row{State::alarm, "front_door", State::alarm, "burglary", "134"},
        Row{State::alarm, "panic", State::alarm, "panic", "120"},
        Row{State::alarm, "arm", State::alarm, "", ""},
        Row{State::alarm, "disarm", State::disarmed, "disarmed", "401"},
        // power troubles: reported in every state, never an alarm, never a change of state
        Row{State::disarmed, "mains_fail", State::disarmed, "mains_lost", "301"},
        Row{State::disarmed, "battery_low", State::disarmed, "battery_low", "302"},
        Row{State::exit_delay, "mains_fail", State::exit_delay, "mains_lost", "301"},
        Row{State::exit_delay, "battery_low", State::exit_delay, "battery_low", "302"},
        Row{State::armed_away, "mains_fail", State::armed_away, "mains_lost", "301"},
        Row{State::armed_away, "battery_low", State::armed_away, "battery_low", "302"},
        Row{State::armed_home, "mains_fail", State::armed_home, "mains_lost", "301"},
        Row{State::armed_home, "battery_low", State::armed_home, "battery_low", "302"},
        Row{State::entry_delay, "mains_fail", State::entry_delay, "mains_lost", "301"},
        Row{State::entry_delay, "battery_low", State::entry_delay, "battery_low", "302"},
        Row{State::alarm, "mains_fail", State::alarm, "mains_lost", "301"},
        Row{State::alarm, "battery_low", State::alarm, "battery_low", "302"}));

TEST(AlarmPanel, ADisarmDuringAnAlarmReportsTheCancelBeforeTheOpen) {
  Panel panel(kit());
  const Time now = bring(panel, State::alarm);
  const auto events = panel.disarm("control-room", now);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].code, "406");
  EXPECT_EQ(events[1].code, "401");
  EXPECT_EQ(events[1].user, "control-room");
}

TEST(AlarmPanel, ASecondPanicWithinTwoMinutesIsConfirmedAndPanicIsNeverHeldOff) {
  Panel panel(kit());
  ASSERT_TRUE(panel.set_maintenance(true, "engineer", t0));
  auto first = panel.zone("panic", true, t0);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_FALSE((*first)[0].confirmed);
  EXPECT_FALSE((*first)[0].held_off);  // even in maintenance
  EXPECT_EQ((*first)[0].severity, Severity::critical);
  auto released = panel.zone("panic", false, t0 + 1s);
  ASSERT_TRUE(released);
  EXPECT_EQ((*released)[0].code, "120");
  EXPECT_TRUE((*released)[0].restore);
  auto second = panel.zone("panic", true, t0 + 90s);
  EXPECT_TRUE((*second)[0].confirmed);
  (void)panel.zone("panic", false, t0 + 91s);
  auto third = panel.zone("panic", true, t0 + 91s + 121s);  // more than two minutes after the last
  EXPECT_FALSE((*third)[0].confirmed);
}

TEST(AlarmPanel, MaintenanceHoldsOffTamperAndIsReportedAndBlocksArming) {
  Panel panel(kit());
  auto on = panel.set_maintenance(true, "engineer", t0);
  ASSERT_TRUE(on);
  ASSERT_EQ(on->size(), 1u);
  EXPECT_EQ((*on)[0].code, "627");
  auto tamper = panel.zone("tamper_lid", true, t0);
  ASSERT_TRUE(tamper);
  EXPECT_TRUE((*tamper)[0].held_off);
  EXPECT_EQ((*tamper)[0].code, "137");
  EXPECT_EQ(panel.state(), State::disarmed);
  auto refused = panel.arm(ArmMode::away, "keyfob", t0);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("maintenance"), std::string::npos);
  auto off = panel.set_maintenance(false, "engineer", t0);
  EXPECT_EQ((*off)[0].code, "628");
}

TEST(AlarmPanel, ArmingWithAWindowOpenIsRefusedNamingIt) {
  Panel panel(kit());
  ASSERT_TRUE(panel.zone("shock_window", true, t0));
  auto refused = panel.arm(ArmMode::away, "keyfob", t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "alarm: cannot arm: zone 'shock_window' is open");
  EXPECT_EQ(panel.state(), State::disarmed);
}

TEST(AlarmPanel, MaintenanceCannotStartWhileArmed) {
  Panel panel(kit());
  bring(panel, State::armed_away);
  EXPECT_FALSE(panel.set_maintenance(true, "engineer", t0));
}

TEST(AlarmPanel, ARestoreFollowsEachZoneThatRaisedAndAnUnknownZoneIsAnError) {
  Panel panel(kit());
  (void)panel.zone("tamper_lid", true, t0);
  auto closed = panel.zone("tamper_lid", false, t0 + 1s);
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)[0].kind, EventType::restore);
  EXPECT_EQ((*closed)[0].code, "137");
  // Each restore carries the code its zone raised.
  for (const auto& [zone, code] : std::vector<std::pair<std::string, std::string>>{{"camera_tamper", "144"},
                                                                                  {"safe", "133"}}) {
    (void)panel.zone(zone, true, t0);
    auto back = panel.zone(zone, false, t0 + 1s);
    ASSERT_TRUE(back);
    ASSERT_FALSE(back->empty());
    EXPECT_EQ(back->front().code, code) << zone;
  }
  auto unknown = panel.zone("garage", true, t0);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "alarm: no zone named 'garage'");
  // The same state twice is no change.
  auto again = panel.zone("tamper_lid", false, t0 + 2s);
  EXPECT_TRUE(again->empty());
}

TEST(AlarmPanel, TheEntryDelayAlarmNamesTheDoorEvenIfItWasClosedAgain) {
  Panel panel(kit());
  Time now = bring(panel, State::entry_delay);
  (void)panel.zone("front_door", false, now + 2s);
  ASSERT_EQ(panel.deadline(), now + 20s);
  EXPECT_TRUE(panel.tick(now + 19s).empty());
  auto late = panel.tick(now + 20s);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].zone, "front_door");
  EXPECT_EQ(late[0].code, "134");
  EXPECT_EQ(panel.state(), State::alarm);
}

TEST(AlarmPanel, PowerTroublesRestoreWithTheirCodesAndAreNotHeldOffByMaintenance) {
  Panel panel(kit());
  ASSERT_TRUE(panel.set_maintenance(true, "engineer", t0));
  auto lost = panel.zone("mains_fail", true, t0);
  ASSERT_TRUE(lost);
  ASSERT_EQ(lost->size(), 1u);
  EXPECT_EQ(lost->front().code, "301");
  EXPECT_FALSE(lost->front().held_off);
  EXPECT_EQ(lost->front().severity, Severity::warning);
  auto back = panel.zone("mains_fail", false, t0 + 60s);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(back->front().kind, EventType::restore);
  EXPECT_EQ(back->front().code, "301");
  EXPECT_TRUE(back->front().restore);
  auto low = panel.zone("battery_low", true, t0 + 61s);
  ASSERT_TRUE(low);
  EXPECT_EQ(low->front().code, "302");
  auto ok = panel.zone("battery_low", false, t0 + 62s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->front().code, "302");
  EXPECT_TRUE(ok->front().restore);
  // A power trouble open at arming does not stop the household arming.
  ASSERT_TRUE(panel.set_maintenance(false, "engineer", t0 + 63s));
  ASSERT_TRUE(panel.zone("mains_fail", true, t0 + 64s));
  EXPECT_TRUE(panel.arm(ArmMode::away, "keyfob", t0 + 65s));
}
