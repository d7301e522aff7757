#include <gtest/gtest.h>

#include <set>

#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"
#include "assure/firmware/settings.hpp"
#include "support.hpp"

using namespace assure::config;
using assure::test::TempDir;

TEST(BoardFile, TheSimBoardLoadsWithItsLinesCameraAndEncoder) {
  auto board = load_board(std::filesystem::path(ASSURE_SOURCE_DIR) / "board", "sim");
  ASSERT_TRUE(board.has_value()) << to_string(board.error());
  EXPECT_EQ(board->spec.name, "sim");
  EXPECT_EQ(board->spec.driver, "sim");
  ASSERT_GE(board->spec.inputs.size(), 4u);
  const auto& panic = board->spec.inputs[0];
  EXPECT_EQ(panic.name, "panic");
  EXPECT_EQ(panic.chip, "sim0");
  EXPECT_EQ(panic.offset, 0u);
  EXPECT_TRUE(panic.active_low);
  EXPECT_EQ(panic.bias, assure::hal::Bias::pull_up);
  EXPECT_EQ(panic.debounce, std::chrono::milliseconds{20});
  ASSERT_GE(board->spec.outputs.size(), 2u);
  EXPECT_EQ(board->spec.outputs[0].name, "light_porch");
  EXPECT_EQ(board->camera.source, "file");
  EXPECT_TRUE(board->camera.loop);
  EXPECT_EQ(board->encoder, "x264enc");
}

TEST(BoardFile, ErrorsInsideLineTablesCarryTheItemPath) {
  TempDir dir;
  auto file = dir.write("b/board.toml", R"(name = "b"
driver = "sim"
[[input]]
name = "panic"
chip = "sim0"
line = 0
[[input]]
name = "pir"
chip = "sim0"
line = 1
colour = "red"
)");
  auto board = load_board_file(file);
  ASSERT_FALSE(board.has_value());
  ASSERT_EQ(board.error().size(), 1u);
  EXPECT_EQ(board.error()[0].path, "input[1].colour");
  EXPECT_EQ(board.error()[0].where.line, 11);
}

TEST(BoardFile, ALineNeedsExactlyOneOfOffsetAndName) {
  TempDir dir;
  auto file = dir.write("b/board.toml", R"(name = "b"
driver = "sim"
[[output]]
name = "light"
chip = "sim0"
[[output]]
name = "sounder"
chip = "sim0"
line = 3
line_name = "GPIO3"
)");
  auto board = load_board_file(file);
  ASSERT_FALSE(board.has_value());
  ASSERT_EQ(board.error().size(), 2u);
  EXPECT_EQ(board.error()[0].path, "output[0].line");
  EXPECT_EQ(board.error()[0].where.line, 3);
  EXPECT_EQ(board.error()[1].path, "output[1].line");
  EXPECT_NE(board.error()[1].message.find("not both"), std::string::npos);
}

TEST(BoardFile, LogicalNamesAreUniqueAcrossInputsAndOutputs) {
  TempDir dir;
  auto file = dir.write("b/board.toml", R"(name = "b"
driver = "sim"
[[input]]
name = "porch"
chip = "sim0"
line = 0
[[output]]
name = "porch"
chip = "sim0"
line = 1
)");
  auto board = load_board_file(file);
  ASSERT_FALSE(board.has_value());
  EXPECT_EQ(board.error()[0].path, "output[0].name");
  EXPECT_EQ(board.error()[0].where.line, 8);
}

TEST(BoardFile, TheFolderAndTheNameMustAgree) {
  TempDir dir;
  dir.write("pole/board.toml", "name = \"kit\"\ndriver = \"sim\"\n");
  auto board = load_board(dir.path(), "pole");
  ASSERT_FALSE(board.has_value());
  EXPECT_NE(board.error()[0].message.find("sits in folder 'pole'"), std::string::npos);
}

TEST(BoardFile, AnUnknownBoardNamesTheFileItLookedFor) {
  TempDir dir;
  auto board = load_board(dir.path(), "nowhere");
  ASSERT_FALSE(board.has_value());
  EXPECT_EQ(board.error()[0].where.file, (dir.path() / "nowhere/board.toml").string());
}

TEST(BoardFile, TwoLinesOnOnePinAreRefusedNamingBoth) {
  TempDir dir;
  auto file = dir.write("b/board.toml", R"(name = "b"
driver = "gpiod"
[[input]]
name = "panic"
chip = "gpiochip0"
line_name = "GPIO5"
[[output]]
name = "sounder"
chip = "gpiochip0"
line_name = "GPIO5"
)");
  auto board = load_board_file(file);
  ASSERT_FALSE(board.has_value());
  EXPECT_EQ(board.error()[0].path, "output[0]");
  EXPECT_EQ(board.error()[0].where.line, 9);
  EXPECT_NE(board.error()[0].message.find("'sounder' is wired to gpiochip0 line \"GPIO5\", which 'panic' already uses"),
            std::string::npos)
      << board.error()[0].message;
}

// Every board shipped loads, and the real boards carry what their installers wire.
TEST(BoardFile, EveryShippedBoardLoadsAndTheRealOnesHaveTheirDevices) {
  const auto root = std::filesystem::path(ASSURE_SOURCE_DIR) / "board";
  std::set<std::string> boards;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    auto board = load_board(root, name);
    ASSERT_TRUE(board.has_value()) << name << ": " << to_string(board.error());
    boards.insert(name);
  }
  EXPECT_EQ(boards, (std::set<std::string>{"sim", "rpi4-hotspot-pole", "rpi-zero2w-home-kit"}));

  auto names = [](const BoardFile& b, bool inputs) {
    std::set<std::string> out;
    for (const auto& line : inputs ? b.spec.inputs : b.spec.outputs) out.insert(line.name);
    return out;
  };
  auto kit = load_board(root, "rpi-zero2w-home-kit");
  ASSERT_TRUE(kit);
  EXPECT_EQ(kit->spec.driver, "gpiod");
  EXPECT_EQ(kit->encoder, "v4l2h264enc");
  EXPECT_EQ(kit->camera.source, "libcamera");
  EXPECT_EQ(kit->spec.watchdog_device, "/dev/watchdog");
  for (const char* input : {"panic", "shock_front_window", "tamper_lid", "pir_hall", "door_front", "keyfob", "mains_fail",
                            "battery_low"}) {
    EXPECT_TRUE(names(*kit, true).count(input)) << input;
  }
  EXPECT_EQ(names(*kit, false), (std::set<std::string>{"light_porch", "sounder"}));
  auto pole = load_board(root, "rpi4-hotspot-pole");
  ASSERT_TRUE(pole);
  for (const char* input : {"tamper_cabinet", "mains_fail", "battery_low", "photocell"}) {
    EXPECT_TRUE(names(*pole, true).count(input)) << input;
  }
  EXPECT_TRUE(names(*pole, false).count("light_flood"));
}

// The home kit seals its footage unless its file says otherwise; without the control room's key
// it keeps its alarms but records nothing (never footage in clear), and --check says why.
TEST(BoardFile, TheHomeKitSealsFootageAndWithoutTheKeyRecordsNothingRatherThanInClear) {
  const auto boards = std::filesystem::path(ASSURE_SOURCE_DIR) / "board";
  auto kit = load_board(boards, "rpi-zero2w-home-kit");
  ASSERT_TRUE(kit.has_value()) << to_string(kit.error());
  EXPECT_TRUE(kit->recording_encrypt);
  auto pole = load_board(boards, "rpi4-hotspot-pole");
  ASSERT_TRUE(pole.has_value()) << to_string(pole.error());
  EXPECT_FALSE(pole->recording_encrypt);

  auto device = load_device_config(boards / "rpi-zero2w-home-kit" / "device.example.toml");
  ASSERT_TRUE(device.has_value()) << to_string(device.error());
  EXPECT_TRUE(assure::app::footage_sealed(*device, *kit));
  auto made = assure::app::settings(*device, *kit);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_TRUE(made->recording_refused.empty()) << made->recording_refused;
  ASSERT_TRUE(made->capture.recording);
  EXPECT_TRUE(static_cast<bool>(made->capture.recording->sink)) << "clips are written through the sealing sink";

  device->uplink.control_room_key.clear();
  auto keyless = assure::app::settings(*device, *kit);
  ASSERT_TRUE(keyless) << keyless.error().message;
  EXPECT_NE(keyless->recording_refused.find("uplink.control_room_key is not set"), std::string::npos)
      << keyless->recording_refused;
  EXPECT_FALSE(keyless->capture.recording) << "nothing recorded rather than recorded in clear";
  EXPECT_FALSE(keyless->site.panel.zones.empty()) << "the alarms are set up all the same";
  EXPECT_FALSE(assure::app::capture_options(*device, *kit)) << "tools without a way to say it get an error";

  device->evidence.encrypt = false;  // the device file may choose clear footage (a kit in a shop, say)
  auto clear = assure::app::settings(*device, *kit);
  ASSERT_TRUE(clear);
  ASSERT_TRUE(clear->capture.recording);
  EXPECT_FALSE(static_cast<bool>(clear->capture.recording->sink));
}
