// The hardware drivers on this machine, which has no GPIO chip and no watchdog: every error path
// that can run here (a missing chip, a file that is not a chip, a missing or wrong watchdog
// device), and systemd's notify protocol against a socket of the test's own.

#include <gtest/gtest.h>

#include <cstdlib>

#include "assure/drivers/gpiod_board.hpp"
#include "assure/drivers/linux_watchdog.hpp"
#include "assure/drivers/open_board.hpp"
#include "assure/drivers/service_manager.hpp"
#include "assure/drivers/system_clock.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;

namespace {

hal::LineSpec line(std::string name, std::string chip, unsigned offset) {
  hal::LineSpec spec;
  spec.name = std::move(name);
  spec.chip = std::move(chip);
  spec.offset = offset;
  return spec;
}

std::string message_of(const auto& result) { return result ? std::string{} : result.error().message; }

}  // namespace

TEST(Gpiod, AMissingChipIsAnErrorNamingTheInputTheLineAndTheChip) {
  auto inputs = drivers::open_gpiod_inputs({line("panic", "gpiochip99", 4)}, std::make_shared<drivers::SystemClock>(),
                                           "assure-test");
  ASSERT_FALSE(inputs);
  EXPECT_EQ(inputs.error().code, Errc::not_found);
  EXPECT_EQ(message_of(inputs), "input 'panic' (line 4 of gpiochip99): GPIO chip 'gpiochip99' not found (looked for "
                                "it by name, /dev path, label and number)");
}

TEST(Gpiod, AFileThatIsNotAGpioChipIsRefusedNamingIt) {
  auto outputs = drivers::open_gpiod_outputs({line("sounder", "/dev/null", 9)}, "assure-test");
  ASSERT_FALSE(outputs);
  EXPECT_NE(message_of(outputs).find("output 'sounder' (line 9 of /dev/null): '/dev/null' is not a GPIO chip"),
            std::string::npos)
      << message_of(outputs);
}

TEST(Gpiod, ALineByNameOnAMissingChipSaysWhichName) {
  hal::LineSpec spec;
  spec.name = "light_porch";
  spec.chip = "pinctrl-bcm2711";
  spec.line_name = "GPIO23";
  auto outputs = drivers::open_gpiod_outputs({spec}, "assure-test");
  ASSERT_FALSE(outputs);
  EXPECT_NE(message_of(outputs).find("output 'light_porch' (line \"GPIO23\" of pinctrl-bcm2711): GPIO chip "
                                     "'pinctrl-bcm2711' not found"),
            std::string::npos)
      << message_of(outputs);
}

TEST(Gpiod, ABoardOnTheGpiodDriverNamesTheBoardAndRefusesASimScenario) {
  hal::BoardSpec board;
  board.name = "rpi4-hotspot-pole";
  board.driver = "gpiod";
  board.inputs = {line("tamper_cabinet", "gpiochip0", 17)};
  board.watchdog_device = "/dev/watchdog";
  auto opened = drivers::open_board(board, {}, std::make_shared<drivers::SystemClock>());
  ASSERT_FALSE(opened);
  EXPECT_NE(message_of(opened).find("board 'rpi4-hotspot-pole': input 'tamper_cabinet' (line 17 of gpiochip0): GPIO chip "
                                    "'gpiochip0' not found"),
            std::string::npos)
      << message_of(opened);

  drivers::BoardOptions with_scenario;
  with_scenario.sim_scenario = "scenario.toml";
  auto scenario = drivers::open_board(board, with_scenario, std::make_shared<drivers::SystemClock>());
  ASSERT_FALSE(scenario);
  EXPECT_NE(message_of(scenario).find("sim.scenario plays only on the sim driver"), std::string::npos);

  board.driver = "spi";
  auto unknown = drivers::open_board(board, {}, std::make_shared<drivers::SystemClock>());
  ASSERT_FALSE(unknown);
  EXPECT_NE(message_of(unknown).find("driver 'spi' is not known (known: sim, gpiod)"), std::string::npos);
}

TEST(LinuxWatchdog, AMissingDeviceIsNamedWithTheLikelyCause) {
  test::TempDir dir;
  drivers::LinuxWatchdog watchdog((dir.path() / "watchdog").string());
  auto started = watchdog.start(15s);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Errc::not_found);
  EXPECT_NE(started.error().message.find((dir.path() / "watchdog").string() + " does not exist"), std::string::npos);
  EXPECT_FALSE(watchdog.kick()) << "a kick before a start is an error, not a silent success";
  EXPECT_TRUE(watchdog.stop()) << "stopping what never started is harmless";
}

TEST(LinuxWatchdog, ADeviceThatIsNotAWatchdogIsRefused) {
  if (test::emulated()) {
    GTEST_SKIP() << "qemu-user does not implement the watchdog ioctls: it says ENOSYS where the kernel says ENOTTY";
  }
  drivers::LinuxWatchdog watchdog("/dev/null");
  auto started = watchdog.start(15s);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, Errc::invalid_argument);
  EXPECT_NE(started.error().message.find("/dev/null is not a watchdog device"), std::string::npos)
      << started.error().message;
  EXPECT_FALSE(watchdog.start(0s));
  EXPECT_EQ(watchdog.describe(), "/dev/null");
}

TEST(ServiceManager, TellsSystemdReadyKicksItsWatchdogAndSaysStopping) {
  test::TempDir dir;
  test::NotifySocket socket(dir.path() / "notify");
  ::setenv("NOTIFY_SOCKET", (dir.path() / "notify").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::unsetenv("WATCHDOG_PID");
  const auto manager = drivers::ServiceManager::from_environment();
  EXPECT_TRUE(manager.present());
  ASSERT_TRUE(manager.watchdog_timeout());
  EXPECT_EQ(*manager.watchdog_timeout(), 3s);
  manager.ready("running");
  EXPECT_EQ(socket.receive(), "READY=1\nSTATUS=running");
  manager.kick();
  EXPECT_EQ(socket.receive(), "WATCHDOG=1");
  manager.status("video running");
  EXPECT_EQ(socket.receive(), "STATUS=video running");
  manager.stopping();
  EXPECT_EQ(socket.receive(), "STOPPING=1\nSTATUS=stopping");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
}

TEST(ServiceManager, OutsideSystemdItIsAbsentAndSilent) {
  ::unsetenv("NOTIFY_SOCKET");
  const auto manager = drivers::ServiceManager::from_environment();
  EXPECT_FALSE(manager.present());
  EXPECT_FALSE(manager.watchdog_timeout());
  manager.ready("running");  // nowhere to go: nothing happens
  manager.kick();
}
