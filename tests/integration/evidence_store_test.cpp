// The evidence store on real segments: a looping file recorded continuously as fast as it
// encodes (minutes of footage in seconds of test), every segment sealed into the camera's chain;
// then retention by age and by quota, a hold, and a store left with only protected footage.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "assure/base/files.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/evidence/store.hpp"
#include "assure/firmware/evidence/audit_log.hpp"
#include "assure/pipelines/capture.hpp"
#include "scenes.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::evidence;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const UtcTime kOrigin = std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + 22h;

struct Recorded {
  std::vector<pipelines::SegmentClosed> segments;
  std::vector<Sealed> sealed;
  std::vector<std::string> errors;
};

// `wanted` segments of 2 s of a looping 6 s walk, each sealed as it is finished.
Recorded record(const fs::path& root, Store& store, std::size_t wanted) {
  const std::string video = (root / "walk.mp4").string();
  if (!fs::exists(video)) {
    EXPECT_EQ(test::write_video(test::visits("walk", 60, {{0, 60}}), video), "");
  }
  pipelines::CaptureOptions options;
  options.source = {.kind = "file", .location = video, .loop = true};
  options.realtime = false;
  options.retry = false;
  pipelines::RecordingOptions r;
  r.dir = root / "clips";
  r.device_id = "pole-7";
  r.camera_id = "cam0";
  r.encoder = "x264enc tune=zerolatency speed-preset=ultrafast bitrate=512";
  r.keyframe_interval = 1000ms;
  r.utc_origin = kOrigin;
  options.recording = r;
  options.segments = pipelines::SegmentOptions{.dir = root / "segments" / "cam0", .device_id = "pole-7",
                                               .camera_id = "cam0", .length = 2s, .utc_origin = kOrigin};
  Recorded out;
  std::mutex m;
  pipelines::VideoCapture capture(options, [&](const pipelines::VideoEvent& e) {
    if (const auto* s = std::get_if<pipelines::SegmentClosed>(&e)) {
      std::lock_guard lock(m);
      out.segments.push_back(*s);
      if (auto sealed = store.seal(*s)) out.sealed.push_back(*sealed);
      else out.errors.push_back(sealed.error().message);
    }
  });
  capture.start();
  EXPECT_TRUE(test::eventually([&] { std::lock_guard lock(m); return out.segments.size() >= wanted; }, 120s));
  capture.stop();
  return out;
}

StoreOptions options_at(const fs::path& root, RetentionLimits limits = {}) {
  return {.clips_dir = root / "clips", .segments_dir = root / "segments", .state_dir = root / "state",
          .device = "pole-7", .site = "estate-3", .camera = "cam0", .firmware = "test", .limits = limits};
}

std::vector<std::string> segment_ids(const std::vector<Footage>& footage) {
  std::vector<std::pair<UtcTime, std::string>> seen;
  for (const auto& f : footage) {
    if (f.kind == Footage::Kind::segment) seen.emplace_back(f.start, f.id);
  }
  std::sort(seen.begin(), seen.end());
  std::vector<std::string> out;
  for (auto& [start, id] : seen) out.push_back(id);
  return out;
}

}  // namespace

TEST(EvidenceStore, ContinuousSegmentsAreSealedIntoOneChainPerCameraThatVerifies) {
  test::TempDir dir;
  const SigningKey key = SigningKey::generate();
  auto store = Store::open(options_at(dir.path()), key, nullptr);
  ASSERT_TRUE(store) << store.error().message;
  const Recorded rec = record(dir.path(), **store, 30);  // a minute of footage
  ASSERT_TRUE(rec.errors.empty()) << rec.errors[0];
  ASSERT_GE(rec.sealed.size(), 30u);
  std::string previous;
  for (std::size_t i = 0; i < rec.sealed.size(); ++i) {
    const auto& s = rec.segments[i];
    const auto text = base::read_bounded(s.file.parent_path() / (s.id + ".manifest.json"), 1u << 20);
    ASSERT_TRUE(text) << s.id;
    auto verified = verify_manifest(*text, key.public_hex());
    ASSERT_TRUE(verified) << s.id << ": " << verified.error().message;
    EXPECT_EQ(verified->manifest.index, i + 1);
    EXPECT_EQ(verified->manifest.previous, previous) << "the chain is broken at " << s.id;
    EXPECT_EQ(verified->hash, rec.sealed[i].manifest_hash);
    const auto bytes = base::read_bounded(s.file, 64u << 20);
    ASSERT_TRUE(bytes);
    EXPECT_TRUE(verify_clip_bytes(*bytes, verified->manifest)) << s.id;
    EXPECT_FALSE(rec.sealed[i].after_gap);
    if (i > 0) {
      EXPECT_EQ(s.start_utc, rec.segments[i - 1].end_utc) << "not back to back at " << s.id;
    }
    previous = verified->hash;
  }
  EXPECT_GE(rec.segments.back().end_utc - rec.segments.front().start_utc, 60s);
}

TEST(EvidenceStore, RetentionDeletesExactlyTheOldestUnprotectedSegmentsHoldsProtectAndAFullStoreStops) {
  test::TempDir dir;
  const SigningKey key = SigningKey::generate();
  auto opened = Store::open(options_at(dir.path()), key, nullptr);
  ASSERT_TRUE(opened);
  const Recorded rec = record(dir.path(), **opened, 40);
  ASSERT_TRUE(rec.errors.empty()) << rec.errors[0];
  opened->reset();

  const auto all = [&] {
    auto s = Store::open(options_at(dir.path()), key, nullptr);
    return segment_ids((*s)->footage());
  }();
  ASSERT_GE(all.size(), 40u);
  std::uint64_t total = 0;
  for (const auto& s : rec.segments) total += fs::file_size(s.file);
  const UtcTime end = rec.segments.back().end_utc;

  // By age: footage that ended more than 60 s before `end` goes, the rest stays.
  {
    auto store = Store::open(options_at(dir.path(), {.max_age = 60s}), key, nullptr);
    ASSERT_TRUE(store);
    const Swept swept = (*store)->sweep(end);
    std::vector<std::string> expected;
    for (const auto& s : rec.segments) {
      if (s.end_utc + 60s < end) expected.push_back(s.id);
    }
    ASSERT_FALSE(expected.empty());
    std::vector<std::string> deleted;
    for (const auto& d : swept.plan.deletions) deleted.push_back(d.id);
    EXPECT_EQ(deleted, expected);
    EXPECT_TRUE(swept.failed.empty());
    for (const auto& id : expected) {
      EXPECT_FALSE(fs::exists(dir.path() / "segments" / "cam0" / (id + ".mp4"))) << id;
      EXPECT_FALSE(fs::exists(dir.path() / "segments" / "cam0" / (id + ".manifest.json"))) << id;
    }
    const std::vector<std::string> left = segment_ids((*store)->footage());
    EXPECT_EQ(left, std::vector<std::string>(all.begin() + static_cast<long>(expected.size()), all.end()));
    // Every deletion is in the store's audit log, whose chain verifies.
    auto audited = evidence::verify_audit_log((*store)->audit_file());
    ASSERT_TRUE(audited) << audited.error().message;
    EXPECT_EQ(*audited, expected.size());
  }

  // A hold on the newest 10 s, and a quota of a third of what was recorded: the oldest unheld
  // segments go until it fits, the held ones never.
  const std::vector<std::string> before = segment_ids((*Store::open(options_at(dir.path()), key, nullptr))->footage());
  const Hold hold{"CAD-2411-0007", "cam0", end - 10s, end};
  {
    auto store = Store::open(options_at(dir.path(), {.quota_bytes = total / 3}), key, nullptr);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->hold(hold, "PC 4471 Evans", "assault outside the shop, 22:10-22:40"));
  }
  {
    // The hold survived the restart.
    auto store = Store::open(options_at(dir.path(), {.quota_bytes = total / 3}), key, nullptr);
    ASSERT_TRUE(store);
    ASSERT_EQ((*store)->holds().size(), 1u);
    EXPECT_EQ((*store)->holds()[0].reference, "CAD-2411-0007");
    const Swept swept = (*store)->sweep(end);
    EXPECT_FALSE(swept.plan.stop_recording);
    ASSERT_FALSE(swept.plan.deletions.empty());
    for (std::size_t i = 0; i < swept.plan.deletions.size(); ++i) {
      EXPECT_EQ(swept.plan.deletions[i].id, before[i]) << "not the oldest first";
    }
    EXPECT_LE(swept.plan.bytes_after, total / 3);
  }

  // A quota below what the hold protects: everything unheld goes, recording must stop.
  {
    auto store = Store::open(options_at(dir.path(), {.quota_bytes = 1000}), key, nullptr);
    ASSERT_TRUE(store);
    const Swept swept = (*store)->sweep(end);
    EXPECT_TRUE(swept.plan.stop_recording);
    EXPECT_NE(swept.plan.why.find("evidential hold"), std::string::npos) << swept.plan.why;
    for (const auto& f : (*store)->footage()) {
      EXPECT_GT(f.end, hold.from) << f.id << " is not under the hold and should have gone";
    }
    EXPECT_FALSE((*store)->footage().empty()) << "the held footage was deleted";
    // Released, it goes at the next sweep.
    ASSERT_TRUE((*store)->release("CAD-2411-0007", "PC 4471 Evans"));
    EXPECT_FALSE((*store)->release("CAD-2411-0007", "PC 4471 Evans")) << "released twice";
    const Swept after = (*store)->sweep(end);
    EXPECT_FALSE(after.plan.stop_recording);
    EXPECT_TRUE((*store)->footage().empty());
    auto audited = evidence::verify_audit_log((*store)->audit_file());
    ASSERT_TRUE(audited) << audited.error().message;
  }
}

TEST(EvidenceStore, AHoldsFileThatCannotBeReadFailsTheStoreRatherThanDeleteWhatItProtects) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "state");
  std::ofstream(dir.path() / "state" / "holds.json") << "[{\"reference\": \"CAD-1\", \"from\": \"yesterday\"}]";
  const SigningKey key = SigningKey::generate();
  auto store = Store::open(options_at(dir.path()), key, nullptr);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("holds.json: hold 1 is not whole"), std::string::npos) << store.error().message;
}
