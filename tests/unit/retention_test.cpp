// The evidence store's retention, as pure logic: by age and by quota, oldest first, and never
// what is under a hold or not yet received by the control room.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "assure/firmware/evidence/retention.hpp"

using namespace assure::evidence;
using namespace std::chrono_literals;

namespace {

const UtcTime kNow = std::chrono::sys_days{std::chrono::year{2026} / 12 / 2} + 12h;

// `count` back-to-back segments of `each`, `bytes` each, the last ending now.
std::vector<Footage> segments(int count, std::chrono::seconds each, std::uint64_t bytes, const std::string& camera = "cam0") {
  std::vector<Footage> out;
  for (int i = 0; i < count; ++i) {
    const UtcTime start = kNow - each * (count - i);
    out.push_back({fmt::format("{}-seg-{:04}", camera, i), camera, Footage::Kind::segment, start, start + each, bytes});
  }
  return out;
}

std::vector<std::string> ids(const RetentionPlan& plan) {
  std::vector<std::string> out;
  for (const auto& d : plan.deletions) out.push_back(d.id);
  return out;
}

std::vector<std::string> range(int from, int to, const std::string& camera = "cam0") {  // [from, to)
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(fmt::format("{}-seg-{:04}", camera, i));
  return out;
}

}  // namespace

TEST(Retention, ByAgeExactlyWhatEndedLongerAgoThanTheLimitGoesOldestFirst) {
  const auto stored = segments(40 * 24, 1h, 1000);  // 40 days of hour-long segments
  const RetentionPlan plan = plan_retention(stored, {}, {.max_age = std::chrono::days{31}}, kNow);
  // Segment i ends at now - (960 - i - 1) h; it goes when that is more than 744 h ago.
  EXPECT_EQ(ids(plan), range(0, 960 - 744 - 1));
  ASSERT_FALSE(plan.deletions.empty());
  EXPECT_EQ(plan.deletions.front().reason, "older than 31 days");
  EXPECT_EQ(plan.bytes_after, (744u + 1u) * 1000u);
  EXPECT_FALSE(plan.stop_recording);
}

TEST(Retention, AgeCanBeHours) {
  const RetentionPlan plan = plan_retention(segments(48, 1h, 10), {}, {.max_age = 12h}, kNow);
  EXPECT_EQ(ids(plan), range(0, 48 - 12 - 1));
  EXPECT_EQ(plan.deletions.front().reason, "older than 12 hours");
}

TEST(Retention, ByQuotaTheOldestGoUntilTheStoreAndItsHeadroomFit) {
  const auto stored = segments(100, 60s, 10);  // 1000 bytes
  const RetentionPlan plan = plan_retention(stored, {}, {.quota_bytes = 500, .headroom_bytes = 20}, kNow);
  EXPECT_EQ(ids(plan), range(0, 52));  // 480 kept + 20 free = 500
  EXPECT_EQ(plan.bytes_after, 480u);
  EXPECT_EQ(plan.deletions.front().reason, "over the quota (500 bytes)");
  EXPECT_FALSE(plan.stop_recording);
}

TEST(Retention, WhicheverComesFirstAgeThenQuota) {
  const auto stored = segments(100, 1h, 10);
  const RetentionPlan plan = plan_retention(stored, {}, {.max_age = 50h, .quota_bytes = 300}, kNow);
  // Age takes 0..48; the quota then wants 300 bytes: 30 segments kept, so 49..69 go too.
  EXPECT_EQ(ids(plan), range(0, 70));
  EXPECT_EQ(plan.deletions[48].reason, "older than 50 hours");
  EXPECT_EQ(plan.deletions[49].reason, "over the quota (300 bytes)");
}

TEST(Retention, AHoldProtectsItsRangeAndTheQuotaTakesTheNextOldestInstead) {
  const auto stored = segments(100, 60s, 10);
  // Held: the minutes of segments 10 to 19 (a hold touching only part of a segment protects it).
  const Hold hold{"CAD-2211-0042", "cam0", stored[10].start + 30s, stored[19].end - 30s};
  const RetentionPlan plan = plan_retention(stored, {hold}, {.quota_bytes = 500}, kNow);
  std::vector<std::string> expected = range(0, 10);
  for (const auto& id : range(20, 60)) expected.push_back(id);
  EXPECT_EQ(ids(plan), expected);
  EXPECT_EQ(plan.protected_bytes, 100u);
  EXPECT_EQ(plan.bytes_after, 500u);
}

TEST(Retention, AHoldOnAnotherCameraProtectsNothingHereAndOneOnAllCamerasDoes) {
  auto stored = segments(10, 60s, 10, "cam0");
  for (auto& f : segments(10, 60s, 10, "cam1")) stored.push_back(f);
  const Hold other{"CAD-1", "cam1", kNow - 1h, kNow};
  RetentionPlan plan = plan_retention(stored, {other}, {.quota_bytes = 100}, kNow);
  EXPECT_EQ(ids(plan), range(0, 10, "cam0"));
  const Hold all{"CAD-2", "", kNow - 1h, kNow};
  plan = plan_retention(stored, {all}, {.quota_bytes = 100}, kNow);
  EXPECT_TRUE(plan.deletions.empty());
  EXPECT_TRUE(plan.stop_recording);
}

TEST(Retention, AClipNotYetReceivedAndTheSegmentsUnderItAreNeverDeleted) {
  auto stored = segments(20, 60s, 10);
  Footage clip{"pole-7-cam0-clip", "cam0", Footage::Kind::clip, stored[2].start + 10s, stored[4].start + 5s, 50, true};
  stored.push_back(clip);
  Footage sent_clip{"pole-7-cam0-old", "cam0", Footage::Kind::clip, stored[0].start, stored[0].end, 50, false};
  stored.push_back(sent_clip);
  const RetentionPlan plan = plan_retention(stored, {}, {.max_age = 1s}, kNow);
  // All but the newest segment ended over a second ago; the unsent clip and segments 2, 3 and 4
  // under it stay.
  std::vector<std::string> expected = {"cam0-seg-0000", "pole-7-cam0-old", "cam0-seg-0001"};
  for (const auto& id : range(5, 19)) expected.push_back(id);
  EXPECT_EQ(ids(plan), expected);
  EXPECT_EQ(plan.protected_bytes, 80u);
}

TEST(Retention, WhenOnlyProtectedFootageIsLeftRecordingStopsAndNothingProtectedGoes) {
  const auto stored = segments(10, 60s, 100);
  const Hold hold{"CAD-9", "", kNow - 8min, kNow};  // the newest eight
  const RetentionPlan plan = plan_retention(stored, {hold}, {.quota_bytes = 700, .headroom_bytes = 100}, kNow);
  EXPECT_EQ(ids(plan), range(0, 2));
  EXPECT_TRUE(plan.stop_recording);
  EXPECT_NE(plan.why.find("800 are under an evidential hold"), std::string::npos) << plan.why;
  EXPECT_EQ(plan.bytes_after, 800u);
}

TEST(Retention, NothingToDoIsNothing) {
  const RetentionPlan plan = plan_retention(segments(10, 60s, 10), {}, {.quota_bytes = 1000}, kNow);
  EXPECT_TRUE(plan.deletions.empty());
  EXPECT_FALSE(plan.stop_recording);
  EXPECT_EQ(plan.bytes_before, 100u);
  EXPECT_EQ(plan.bytes_after, 100u);
}
