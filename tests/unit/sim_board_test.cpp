#include <gtest/gtest.h>

#include "assure/drivers/open_board.hpp"
#include "assure/drivers/sim_board.hpp"
#include "assure/drivers/system_clock.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using drivers::SimClock;

namespace {

hal::BoardSpec spec() {
  hal::BoardSpec s;
  s.name = "sim";
  s.driver = "sim";
  s.inputs = {{.name = "panic", .chip = "sim0", .offset = 0}, {.name = "pir", .chip = "sim0", .offset = 1}};
  s.outputs = {{.name = "light", .chip = "sim0", .offset = 8},
               {.name = "sounder", .chip = "sim0", .offset = 9, .initial_active = true}};
  return s;
}

}  // namespace

TEST(SimBoard, DrivenInputsGiveEdgesStampedWithTheBoardClock) {
  auto clock = std::make_shared<SimClock>();
  auto sim = drivers::make_sim_board(spec(), clock);
  ASSERT_TRUE(sim.has_value());
  clock->advance(5ms);
  const auto t0 = clock->monotonic();
  ASSERT_TRUE(sim->inputs->drive("panic", true).has_value());
  clock->advance(7ms);
  ASSERT_TRUE(sim->inputs->drive("panic", true).has_value());  // no change: no edge
  ASSERT_TRUE(sim->inputs->drive("panic", false).has_value());
  auto edges = sim->board.inputs->wait(100ms);
  ASSERT_TRUE(edges.has_value());
  ASSERT_EQ(edges->size(), 2u);
  EXPECT_EQ((*edges)[0].name, "panic");
  EXPECT_TRUE((*edges)[0].active);
  EXPECT_EQ((*edges)[0].timestamp, t0);
  EXPECT_FALSE((*edges)[1].active);
  EXPECT_EQ((*edges)[1].timestamp, t0 + 7ms);
  EXPECT_EQ(sim->board.inputs->read("panic").value(), false);
}

TEST(SimBoard, UnknownNamesAreErrorsThatSayWhich) {
  auto sim = drivers::make_sim_board(spec(), std::make_shared<SimClock>());
  auto driven = sim->inputs->drive("doorbell", true);
  ASSERT_FALSE(driven.has_value());
  EXPECT_EQ(driven.error().code, Errc::not_found);
  EXPECT_NE(driven.error().message.find("'doorbell'"), std::string::npos);
  EXPECT_FALSE(sim->board.outputs->set("siren", true).has_value());
  EXPECT_FALSE(sim->board.inputs->read("siren").has_value());
}

TEST(SimBoard, InterruptWakesAWaitAtOnce) {
  auto sim = drivers::make_sim_board(spec(), std::make_shared<SimClock>());
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    sim->board.inputs->interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  auto edges = sim->board.inputs->wait(30s);
  waker.join();
  ASSERT_TRUE(edges.has_value());
  EXPECT_TRUE(edges->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(SimBoard, OutputsStartAtTheirInitialStateAndEveryChangeIsRecorded) {
  auto clock = std::make_shared<SimClock>();
  auto sim = drivers::make_sim_board(spec(), clock);
  EXPECT_EQ(sim->board.outputs->get("sounder").value(), true);
  std::vector<std::string> seen;
  sim->outputs->on_change([&](const drivers::OutputChange& c) { seen.push_back(c.name); });
  ASSERT_TRUE(sim->board.outputs->set("light", true).has_value());
  clock->advance(2s);
  ASSERT_TRUE(sim->board.outputs->set("light", true).has_value());  // no change
  ASSERT_TRUE(sim->board.outputs->set("light", false).has_value());
  const auto history = sim->outputs->history();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[0].active);
  EXPECT_FALSE(history[1].active);
  EXPECT_EQ(history[1].timestamp - history[0].timestamp, 2s);
  EXPECT_EQ(seen, (std::vector<std::string>{"light", "light"}));
}

TEST(SimBoard, TheWatchdogExpiresWhenNotKickedInTime) {
  auto clock = std::make_shared<SimClock>();
  auto sim = drivers::make_sim_board(spec(), clock);
  EXPECT_FALSE(sim->board.watchdog->kick().has_value());  // not started
  ASSERT_TRUE(sim->board.watchdog->start(10s).has_value());
  clock->advance(9s);
  EXPECT_FALSE(sim->watchdog->expired());
  ASSERT_TRUE(sim->board.watchdog->kick().has_value());
  clock->advance(9s);
  EXPECT_FALSE(sim->watchdog->expired());
  clock->advance(2s);
  EXPECT_TRUE(sim->watchdog->expired());
  ASSERT_TRUE(sim->board.watchdog->stop().has_value());
  EXPECT_FALSE(sim->watchdog->expired());
  EXPECT_EQ(sim->watchdog->kicks(), 1u);
}

TEST(Scenario, StepsArePlayedInTimeOrder) {
  test::TempDir dir;
  auto file = dir.write("s.toml", R"([[step]]
at_ms = 60
input = "pir"
active = true
[[step]]
at_ms = 10
input = "panic"
active = true
)");
  auto board = drivers::open_board(spec(), {.sim_scenario = file}, std::make_shared<drivers::SystemClock>());
  ASSERT_TRUE(board.has_value()) << board.error().message;
  std::vector<hal::InputEvent> edges;
  ASSERT_TRUE(test::eventually(
      [&] {
        auto more = board->inputs->wait(50ms);
        for (auto& e : *more) edges.push_back(e);
        return edges.size() >= 2;
      },
      5s));
  EXPECT_EQ(edges[0].name, "panic");
  EXPECT_EQ(edges[1].name, "pir");
  EXPECT_LE(edges[0].timestamp, edges[1].timestamp);
}

TEST(Scenario, AStepNamingAnUnknownInputIsRejectedWithItsPosition) {
  test::TempDir dir;
  auto file = dir.write("s.toml", "[[step]]\nat_ms = 0\ninput = \"doorbell\"\nactive = true\n");
  auto board = drivers::open_board(spec(), {.sim_scenario = file}, std::make_shared<SimClock>());
  ASSERT_FALSE(board.has_value());
  EXPECT_NE(board.error().message.find(file.string() + ":3:9"), std::string::npos) << board.error().message;
  EXPECT_NE(board.error().message.find("no input 'doorbell'"), std::string::npos);
}

TEST(Scenario, BadValuesAndBadTomlAreRejected) {
  test::TempDir dir;
  auto negative = dir.write("n.toml", "[[step]]\nat_ms = -5\ninput = \"panic\"\n");
  auto broken = dir.write("b.toml", "[[step]\n");
  auto stray = dir.write("x.toml", "speed = 3\n");
  const std::vector<std::string> inputs{"panic"};
  EXPECT_NE(drivers::load_scenario(negative, inputs).error().message.find(":2:1"), std::string::npos);
  EXPECT_EQ(drivers::load_scenario(broken, inputs).error().code, Errc::parse);
  EXPECT_NE(drivers::load_scenario(stray, inputs).error().message.find("unknown key 'speed'"), std::string::npos);
  EXPECT_FALSE(drivers::load_scenario(dir.path() / "none.toml", inputs).has_value());
}

TEST(OpenBoard, AnUnknownDriverIsRefusedByName) {
  auto s = spec();
  s.driver = "mcp23017";
  auto board = drivers::open_board(s, {}, std::make_shared<SimClock>());
  ASSERT_FALSE(board.has_value());
  EXPECT_EQ(board.error().code, Errc::unsupported);
  EXPECT_NE(board.error().message.find("'mcp23017' is not known"), std::string::npos);
}

TEST(Debounce, AGlitchShorterThanTheDebounceIsNoEdgeAndChatterIsOne) {
  drivers::Debouncer d;
  d.add_line("shock", 20ms);
  d.add_line("panic", 0ms);
  using T = drivers::Debouncer::Time;
  // A 5 ms glitch on a 20 ms line: nothing.
  d.raw("shock", true, T{1ms});
  d.raw("shock", false, T{6ms});
  EXPECT_TRUE(d.settle(T{40ms}).empty());
  EXPECT_FALSE(d.next_deadline());
  // A press that chatters for 4 ms, then holds: one edge, once it has held 20 ms.
  d.raw("shock", true, T{100ms});
  d.raw("shock", false, T{102ms});
  d.raw("shock", true, T{104ms});
  EXPECT_EQ(d.next_deadline(), T{124ms});
  EXPECT_TRUE(d.settle(T{123ms}).empty());
  auto edges = d.settle(T{124ms});
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_TRUE(edges[0].active);
  EXPECT_EQ(edges[0].timestamp, T{104ms});
  // A line without debounce reports every change, in order.
  d.raw("panic", true, T{200ms});
  d.raw("panic", false, T{201ms});
  edges = d.settle(T{201ms});
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_TRUE(edges[0].active);
  EXPECT_FALSE(edges[1].active);
  EXPECT_FALSE(d.raw("doorbell", true, T{0}));
}

TEST(SimBoard, TheBoardFilesDebounceAppliesToDrivenInputs) {
  hal::BoardSpec s = spec();
  s.inputs[0].debounce = 20ms;
  auto clock = std::make_shared<SimClock>();
  auto sim = drivers::make_sim_board(s, clock);
  ASSERT_TRUE(sim.has_value());
  const auto pressed_at = clock->monotonic();
  ASSERT_TRUE(sim->inputs->drive("panic", true));
  auto early = sim->board.inputs->wait(30ms);  // the board's clock has not moved: not settled yet
  ASSERT_TRUE(early);
  EXPECT_TRUE(early->empty());
  clock->advance(25ms);
  auto edges = sim->board.inputs->wait(100ms);
  ASSERT_TRUE(edges);
  ASSERT_EQ(edges->size(), 1u);
  EXPECT_TRUE((*edges)[0].active);
  EXPECT_EQ((*edges)[0].timestamp, pressed_at);
}
