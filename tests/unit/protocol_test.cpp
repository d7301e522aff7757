#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/topics.hpp"

using namespace assure::uplink;
using nlohmann::json;

TEST(Topics, AreBuiltUnderPrefixSiteAndDevice) {
  Topics topics("assure/v1", "estate-a", "cam-01");
  EXPECT_EQ(topics.status(), "assure/v1/estate-a/cam-01/status");
  EXPECT_EQ(topics.heartbeat(), "assure/v1/estate-a/cam-01/heartbeat");
  EXPECT_EQ(fleet_filter("assure/v1"), "assure/v1/+/+/#");
  EXPECT_EQ(fleet_filter("assure/v1", "estate-a"), "assure/v1/estate-a/+/#");
}

TEST(Topics, ParseSplitsTheLevelsAndKeepsTheRest) {
  auto parsed = parse_topic("assure/v1", "assure/v1/estate-a/cam-01/clip/abc/chunk/3");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->site, "estate-a");
  EXPECT_EQ(parsed->device, "cam-01");
  EXPECT_EQ(parsed->kind, "clip");
  EXPECT_EQ(parsed->rest, "abc/chunk/3");
  EXPECT_EQ(parse_topic("assure/v1", "assure/v1/s/d/status")->rest, "");
}

TEST(Topics, ParseRefusesWhatIsNotOurs) {
  EXPECT_FALSE(parse_topic("assure/v1", "assure/v2/s/d/status"));
  EXPECT_FALSE(parse_topic("assure/v1", "assure/v10/s/d/status"));
  EXPECT_FALSE(parse_topic("assure/v1", "assure/v1/s/d"));
  EXPECT_FALSE(parse_topic("assure/v1", "assure/v1/s//status"));
  EXPECT_FALSE(parse_topic("assure/v1", "assure/v1"));
  EXPECT_FALSE(parse_topic("assure/v1", ""));
}

TEST(Messages, TimesAreUtcIso8601WithMilliseconds) {
  const auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{1795395723456}};
  EXPECT_EQ(utc_iso8601(t), "2026-11-23T01:02:03.456Z");
}

TEST(Messages, OnlineOfflineAndHeartbeatCarryTheirFields) {
  auto online = json::parse(online_payload({"0.1.0", "b00t", "sim", "file x.avi", {}}));
  EXPECT_EQ(online["state"], "online");
  EXPECT_EQ(online["firmware"], "0.1.0");
  EXPECT_EQ(online["boot_id"], "b00t");
  EXPECT_EQ(json::parse(offline_payload("connection lost"))["reason"], "connection lost");

  Heartbeat h;
  h.uptime = std::chrono::seconds{42};
  h.frames = 420;
  h.fps = 9.96;
  h.video = "running";
  h.input_edges = 3;
  auto beat = json::parse(heartbeat_payload(h));
  EXPECT_EQ(beat["uptime_s"], 42);
  EXPECT_EQ(beat["frames"], 420);
  EXPECT_DOUBLE_EQ(beat["fps"].get<double>(), 10.0);
  EXPECT_EQ(beat["video"], "running");
  EXPECT_EQ(beat["input_edges"], 3);
}
