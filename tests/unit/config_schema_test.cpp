#include <gtest/gtest.h>

#include <set>

#include "assure/config/device_config.hpp"

using namespace assure::config;

namespace {

Diagnostics errors_of(std::string_view text) {
  auto result = parse_device_config(text, "device.toml", "/etc/assure");
  EXPECT_FALSE(result.has_value()) << "expected the file to be rejected";
  return result ? Diagnostics{} : result.error();
}

constexpr std::string_view kMinimal = R"([device]
id = "cam-01"
site = "estate-a"
)";

}  // namespace

TEST(DeviceConfig, MinimalFileTakesEveryDefault) {
  auto config = parse_device_config(kMinimal, "device.toml", "/etc/assure");
  ASSERT_TRUE(config.has_value()) << to_string(config.error());
  EXPECT_EQ(config->device_id, "cam-01");
  EXPECT_EQ(config->site, "estate-a");
  EXPECT_EQ(config->board, "sim");
  EXPECT_EQ(config->mqtt.brokers, std::vector<std::string>{"tcp://127.0.0.1:1883"});
  EXPECT_EQ(config->mqtt.client_id, "estate-a-cam-01");
  EXPECT_EQ(config->mqtt.keepalive, std::chrono::seconds{30});
  EXPECT_EQ(config->heartbeat_interval, std::chrono::seconds{60});
  EXPECT_TRUE(config->camera_from_board);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_TRUE(config->sim_scenario.empty());
}

TEST(DeviceConfig, EveryKeyTheSchemaDeclaresHasHelpAndBinds) {
  // The schema is the one place keys are declared: each needs help text for the shell and docs.
  std::set<std::string> paths;
  for (const Key& key : device_schema().keys()) {
    EXPECT_FALSE(key.help.empty()) << key.path;
    EXPECT_TRUE(paths.insert(key.path).second) << "declared twice: " << key.path;
    EXPECT_TRUE(key.required || !std::holds_alternative<std::monostate>(key.fallback))
        << key.path << " has neither a default nor required";
  }
  EXPECT_GE(paths.size(), 15u);
}

TEST(DeviceConfig, UnknownKeyNamesLineColumnPathAndSuggestsTheNearOne) {
  auto errors = errors_of(R"([device]
id = "cam-01"
site = "estate-a"

[mqtt]
keepalvie = 20
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where.line, 6);
  EXPECT_EQ(errors[0].where.column, 1);
  EXPECT_EQ(errors[0].path, "mqtt.keepalvie");
  EXPECT_EQ(errors[0].to_string(),
            "device.toml:6:1: mqtt.keepalvie: unknown key (did you mean 'mqtt.keepalive'?)");
}

TEST(DeviceConfig, UnknownTableIsRejected) {
  auto errors = errors_of(std::string(kMinimal) + "\n[motoin]\nenabled = true\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "motoin");
  EXPECT_NE(errors[0].message.find("unknown table"), std::string::npos);
  EXPECT_EQ(errors[0].where.line, 5);
}

TEST(DeviceConfig, WrongTypePointsAtTheValue) {
  auto errors = errors_of(std::string(kMinimal) + "[heartbeat]\ninterval = \"often\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string(), "device.toml:5:12: heartbeat.interval: expected an integer, got a string");
}

TEST(DeviceConfig, OutOfRangeSaysTheBoundAndUnit) {
  auto errors = errors_of(std::string(kMinimal) + "[mqtt]\nkeepalive = 6000\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "6000 is above the maximum 600 s");
  EXPECT_EQ(errors[0].where.line, 5);
}

TEST(DeviceConfig, BadChoiceListsTheChoices) {
  auto errors = errors_of(std::string(kMinimal) + "[log]\nlevel = \"loud\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "\"loud\" is not one of: trace, debug, info, warn, error");
}

TEST(DeviceConfig, MissingRequiredKeysAreAllReported) {
  auto errors = errors_of("[mqtt]\nkeepalive = 10\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "device.id");
  EXPECT_EQ(errors[1].path, "device.site");
  EXPECT_NE(errors[0].message.find("missing required key"), std::string::npos);
}

TEST(DeviceConfig, EveryProblemIsReportedAtOnce) {
  auto errors = errors_of(R"([device]
id = "Cam 01"
site = "estate-a"
[mqtt]
brokers = ["tcp://127.0.0.1:1883", "http://example"]
keepalive = 1
)");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "device.id");
  EXPECT_NE(errors[0].message.find("not an identifier"), std::string::npos);
  EXPECT_EQ(errors[1].path, "mqtt.brokers[1]");
  EXPECT_EQ(errors[1].where.line, 5);
  EXPECT_EQ(errors[2].path, "mqtt.keepalive");
}

TEST(DeviceConfig, InvalidTomlGivesItsPosition) {
  auto errors = errors_of("[device]\nid = \"cam-01\nsite = \"x\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where.line, 2);
  EXPECT_NE(errors[0].message.find("not valid TOML"), std::string::npos);
}

TEST(DeviceConfig, CrossFieldRulesAreChecked) {
  auto errors = errors_of(std::string(kMinimal) + "[mqtt]\nreconnect_min = 5000\nreconnect_max = 1000\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "mqtt.reconnect_max");
  EXPECT_EQ(errors[0].where.line, 6);

  auto camera = errors_of(std::string(kMinimal) + "[camera]\nsource = \"file\"\n");
  ASSERT_EQ(camera.size(), 1u);
  EXPECT_EQ(camera[0].path, "camera.location");
}

TEST(DeviceConfig, RelativePathsAreTakenFromTheFilesFolder) {
  auto config = parse_device_config(std::string(kMinimal) +
                                        "[camera]\nsource = \"file\"\nlocation = \"clips/a.mp4\"\n"
                                        "[sim]\nscenario = \"s.toml\"\n",
                                    "device.toml", "/etc/assure");
  ASSERT_TRUE(config.has_value()) << to_string(config.error());
  EXPECT_FALSE(config->camera_from_board);
  EXPECT_EQ(config->camera.location, "/etc/assure/clips/a.mp4");
  EXPECT_EQ(config->sim_scenario, "/etc/assure/s.toml");
}

TEST(DeviceConfig, AMissingFileIsAnErrorNamingIt) {
  auto config = load_device_config("/nonexistent/device.toml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error()[0].where.file, "/nonexistent/device.toml");
  EXPECT_NE(config.error()[0].message.find("cannot read"), std::string::npos);
}

TEST(DeviceConfig, TheExampleFileIsValid) {
  auto config = load_device_config(std::filesystem::path(ASSURE_SOURCE_DIR) / "tests/data/device-example.toml");
  ASSERT_TRUE(config.has_value()) << to_string(config.error());
  EXPECT_EQ(config->mqtt.brokers.size(), 2u);
}

TEST(DeviceConfig, ZonesExclusionsAndPrivacyMasksArePolygons) {
  auto config = parse_device_config(std::string(kMinimal) + R"(
[[motion.zone]]
name = "path"
points = "0,0.5 1,0.5 1,1 0,1"

[[motion.exclusion]]
name = "road"
points = "0.6,0.5 1,0.5 1,0.7"

[[privacy.mask]]
name = "window-12"
points = "0.1,0.1 0.3,0.1 0.3,0.3 0.1,0.3"

[evidence]
dir = "clips"
pre_event = 5
)", "device.toml", "/etc/assure-edge");
  ASSERT_TRUE(config) << to_string(config.error());
  ASSERT_EQ(config->motion.zones.size(), 1u);
  EXPECT_EQ(config->motion.zones[0].name, "path");
  EXPECT_EQ(config->motion.zones[0].points.size(), 4u);
  ASSERT_EQ(config->motion.exclusions.size(), 1u);
  ASSERT_EQ(config->privacy_masks.size(), 1u);
  EXPECT_EQ(config->privacy_masks[0].points[2], (assure::Point{0.3, 0.3}));
  EXPECT_EQ(config->evidence.dir, "/etc/assure-edge/clips");
  EXPECT_EQ(config->evidence.pre_event, std::chrono::seconds{5});
  EXPECT_EQ(config->evidence.post_event, std::chrono::seconds{20});
}

TEST(DeviceConfig, ABadPolygonPointsAtItsLineAndSaysWhichPoint) {
  auto errors = errors_of(std::string(kMinimal) + R"(
[[privacy.mask]]
name = "window"
points = "0.1,0.1 0.3,0.1 0.3,1.4"

[[privacy.mask]]
name = "window"
points = "0.1,0.1 0.3,0.1 0.3,0.4"
)");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string(),
            "device.toml:7:10: privacy.mask[0].points: point 3 \"0.3,1.4\" lies outside the picture: x and y "
            "run from 0 to 1");
  EXPECT_EQ(errors[1].path, "privacy.mask[1].name");
  EXPECT_NE(errors[1].message.find("'window' names another privacy.mask"), std::string::npos);
}

TEST(DeviceConfig, LightsSounderShockSensorsAndKeyfobsBind) {
  auto config = parse_device_config(std::string(kMinimal) +
                                        "location = \"53.4808, -2.2426\"\n"
                                        "[sounder]\noutput = \"sounder\"\nmax = 1200\n"
                                        "[[light]]\noutput = \"light_porch\"\ntriggers = [\"camera\", \"pir_hall\"]\nhold = 90\n"
                                        "[[light]]\noutput = \"flood\"\ndark = \"sensor\"\ndark_input = \"photocell\"\n"
                                        "[[alarm.shock]]\ninput = \"shock_front_window\"\npulses = 4\ngross = 250\n"
                                        "[[alarm.keyfob]]\ninput = \"fob\"\naction = \"toggle\"\n",
                                    "device.toml", "/etc/assure");
  ASSERT_TRUE(config.has_value()) << to_string(config.error());
  EXPECT_DOUBLE_EQ(config->latitude, 53.4808);
  EXPECT_DOUBLE_EQ(config->longitude, -2.2426);
  EXPECT_EQ(config->sounder.max, std::chrono::seconds{1200});
  ASSERT_EQ(config->lights.size(), 2u);
  EXPECT_EQ(config->lights[0].triggers, (std::vector<std::string>{"camera", "pir_hall"}));
  EXPECT_EQ(config->lights[0].dark, "sun");
  EXPECT_EQ(config->lights[1].dark_input, "photocell");
  ASSERT_EQ(config->alarm.shocks.size(), 1u);
  EXPECT_EQ(config->alarm.shocks[0].pulses, 4u);
  EXPECT_EQ(config->alarm.shocks[0].window, std::chrono::milliseconds{10000});
  EXPECT_EQ(config->alarm.shocks[0].gross, std::chrono::milliseconds{250});
  EXPECT_EQ(config->alarm.keyfobs[0].action, "toggle");
}

TEST(DeviceConfig, ASounderOverTwentyMinutesAndALightThatCannotTellDarkAreRefused) {
  auto sounder = errors_of(std::string(kMinimal) + "[sounder]\noutput = \"sounder\"\nmax = 1800\n");
  ASSERT_EQ(sounder.size(), 1u);
  EXPECT_EQ(sounder[0].path, "sounder.max");

  auto no_place = errors_of(std::string(kMinimal) + "[[light]]\noutput = \"light_porch\"\n");
  ASSERT_EQ(no_place.size(), 1u);
  EXPECT_EQ(no_place[0].path, "device.location");
  EXPECT_NE(no_place[0].message.find("sunset"), std::string::npos) << no_place[0].message;

  auto no_sensor = errors_of(std::string(kMinimal) + "[[light]]\noutput = \"light_porch\"\ndark = \"sensor\"\n");
  ASSERT_EQ(no_sensor.size(), 1u);
  EXPECT_EQ(no_sensor[0].path, "light[0].dark_input");

  auto bad_place = errors_of(std::string(kMinimal) + "location = \"53.4N 2.2W\"\n");
  ASSERT_EQ(bad_place.size(), 1u);
  EXPECT_EQ(bad_place[0].path, "device.location");
  EXPECT_EQ(bad_place[0].where.line, 4);
  auto off_earth = errors_of(std::string(kMinimal) + "location = \"95,0\"\n");
  ASSERT_EQ(off_earth.size(), 1u);
}

TEST(DeviceConfig, EncryptionNeedsTheControlRoomsKeyAndUnsetLeavesItToTheBoard) {
  auto unset = parse_device_config(kMinimal, "device.toml", "/etc/assure");
  ASSERT_TRUE(unset.has_value());
  EXPECT_FALSE(unset->evidence.encrypt.has_value()) << "unset: the board's profile decides";

  auto errors = errors_of(std::string(kMinimal) + "[evidence]\nencrypt = true\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "uplink.control_room_key");
  EXPECT_EQ(errors[0].where.line, 5) << "points at evidence.encrypt";

  auto sealed = parse_device_config(std::string(kMinimal) + "[evidence]\nencrypt = true\n[uplink]\ncontrol_room_key = \"" +
                                        std::string(64, 'a') + "\"\n",
                                    "device.toml", "/etc/assure");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->evidence.encrypt, true);
  auto clear = parse_device_config(std::string(kMinimal) + "[evidence]\nencrypt = false\n", "device.toml", "/etc/assure");
  ASSERT_TRUE(clear.has_value());
  EXPECT_EQ(clear->evidence.encrypt, false);
}
