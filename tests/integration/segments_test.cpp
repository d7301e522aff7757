// Continuous recording through the real pipeline: vtest.avi and a looping file decoded, encoded
// with x264enc and cut into segments beside the event clips, each checked with ffprobe: back to
// back, no frame lost or repeated across a boundary, and a gap where recording was paused.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "assure/pipelines/footage_export.hpp"
#include "scenes.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::pipelines;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const UtcTime kOrigin = std::chrono::sys_days{std::chrono::year{2026} / 11 / 24} + 22h;

CaptureOptions continuous(const std::string& video, const std::filesystem::path& dir, std::chrono::milliseconds length) {
  CaptureOptions options;
  options.source = {.kind = "file", .location = video};
  options.realtime = false;
  options.retry = false;
  MotionSettings motion;
  motion.event_gap = 1000ms;
  options.motion = motion;
  RecordingOptions r;
  r.dir = dir / "clips";
  r.device_id = "pole-7";
  r.camera_id = "cam0";
  r.encoder = "x264enc tune=zerolatency speed-preset=ultrafast bitrate=1024";
  r.pre_event = 2s;
  r.post_event = 2s;
  r.utc_origin = kOrigin;
  options.recording = r;
  options.segments = SegmentOptions{.dir = dir / "segments" / "cam0", .device_id = "pole-7", .camera_id = "cam0",
                                    .length = length, .utc_origin = kOrigin};
  return options;
}

// ffprobe's count of decoded frames and the time of the first and last packet, in seconds.
struct Probed {
  std::vector<int> sizes;  // of each packet: the same bytes show the same sizes
  std::uint64_t frames = 0;
  double first_pts = -1;
  double last_pts = -1;
  bool starts_with_keyframe = false;
};
Probed ffprobe(const std::filesystem::path& file) {
  const std::string command = "ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags,size -of json '" +
                              file.string() + "' 2>&1";
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    ::pclose(pipe);
  }
  const json parsed = json::parse(output, nullptr, false);
  Probed probed;
  if (parsed.is_discarded() || !parsed.contains("packets")) {
    ADD_FAILURE() << file << ": " << output;
    return probed;
  }
  for (const json& packet : parsed["packets"]) {
    const double pts = std::stod(packet.value("pts_time", "-1"));
    if (probed.frames == 0) {
      probed.first_pts = pts;
      probed.starts_with_keyframe = packet.value("flags", "").find('K') != std::string::npos;
    }
    probed.last_pts = std::max(probed.last_pts, pts);
    probed.sizes.push_back(std::stoi(packet.value("size", "0")));
    ++probed.frames;
  }
  return probed;
}

}  // namespace

TEST(Segments, ContinuousRecordingIsBackToBackWithNoFrameLostOrRepeated) {
  test::TempDir dir;
  test::Collected<VideoEvent> events;
  VideoCapture capture(continuous(test::vtest_avi().string(), dir.path(), 10s), [&](const VideoEvent& e) { events(e); });
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return !events.of<VideoEnded>().empty(); }, 120s)) << "the replay did not end";
  capture.stop();
  const auto segments = events.of<SegmentClosed>();
  ASSERT_GE(segments.size(), 7u);  // 79.5 s in segments of 10 s (to the next keyframe)
  std::uint64_t frames = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const SegmentClosed& s = segments[i];
    ASSERT_TRUE(s.error.empty()) << s.id << ": " << s.error;
    EXPECT_EQ(s.file.parent_path(), dir.path() / "segments" / "cam0");
    EXPECT_EQ(s.file.extension(), ".mp4");
    EXPECT_FALSE(std::filesystem::exists(s.file.string() + ".part"));
    const Probed probed = ffprobe(s.file);
    EXPECT_EQ(probed.frames, s.frames) << s.id << ": ffprobe reads another number of frames";
    EXPECT_TRUE(probed.starts_with_keyframe) << s.id;
    EXPECT_NEAR(probed.first_pts, 0.0, 1e-3) << s.id;
    EXPECT_NEAR(probed.last_pts, static_cast<double>(s.frames - 1) / 10.0, 0.011) << s.id << ": a hole inside";
    frames += s.frames;
    std::ifstream in(s.sidecar);
    const json side = json::parse(in, nullptr, false);
    ASSERT_FALSE(side.is_discarded()) << s.sidecar;
    EXPECT_EQ(side["segment"], s.id);
    EXPECT_EQ(side["frames"], s.frames);
    EXPECT_EQ(side["utc_start"], utc_iso8601(s.start_utc));
    EXPECT_TRUE(side["error"].is_null());
    if (i == 0) {
      EXPECT_TRUE(s.follows.empty());
      EXPECT_EQ(s.start_utc, kOrigin);
      EXPECT_EQ(s.id, "pole-7-cam0-seg-" + utc_compact(kOrigin));
    } else {
      const SegmentClosed& before = segments[i - 1];
      EXPECT_EQ(s.follows, before.id);
      EXPECT_EQ(side["follows"], before.id);
      EXPECT_EQ(s.first_pts, before.end_pts) << "a gap or an overlap between " << before.id << " and " << s.id;
      EXPECT_EQ(s.start_utc, before.end_utc);
    }
    if (i + 1 < segments.size()) {
      EXPECT_EQ(s.reason, "length reached");
      EXPECT_GE(s.end_pts - s.first_pts, 10s);
      EXPECT_LE(s.end_pts - s.first_pts, 12s);  // cut at the first keyframe from 10 s (one every 2 s)
    }
  }
  EXPECT_EQ(segments.back().reason, "end of stream");
  EXPECT_EQ(frames, 795u) << "every frame of the file in exactly one segment";
  // The event clips went on beside them.
  EXPECT_FALSE(events.of<ClipClosed>().empty());
}

TEST(Segments, PausedRecordingLeavesAGapTheNextSegmentShows) {
  test::TempDir dir;
  const std::string video = (dir.path() / "walk.mp4").string();
  ASSERT_EQ(test::write_video(test::visits("walk", 60, {{0, 60}}), video), "");
  auto options = continuous(video, dir.path(), 2s);
  options.source.loop = true;
  test::Collected<VideoEvent> events;
  VideoCapture capture(options, [&](const VideoEvent& e) { events(e); });
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return events.of<SegmentClosed>().size() >= 2; }, 60s));
  capture.pause_segments("the evidence store is full of protected footage");
  const std::size_t at_pause = events.of<SegmentClosed>().size();
  const std::uint64_t frames_at_pause = capture.frames();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() > frames_at_pause + 60; }, 60s));
  EXPECT_EQ(events.of<SegmentClosed>().size(), at_pause) << "a segment was written while paused";
  capture.resume_segments();
  ASSERT_TRUE(test::eventually([&] { return events.of<SegmentClosed>().size() >= at_pause + 2; }, 60s));
  capture.stop();
  const auto segments = events.of<SegmentClosed>();
  EXPECT_EQ(segments[at_pause - 1].reason.rfind("paused: the evidence store is full", 0), 0u) << segments[at_pause - 1].reason;
  EXPECT_TRUE(segments[at_pause].follows.empty()) << "the first segment after the pause must not claim to follow";
  EXPECT_GT(segments[at_pause].first_pts, segments[at_pause - 1].end_pts);
  EXPECT_EQ(segments[at_pause + 1].follows, segments[at_pause].id);
  for (const auto& s : segments) EXPECT_TRUE(s.error.empty()) << s.error;
}

// "22:10:12.35 to 22:10:37.35": cut from three segments at keyframes, not re-encoded.
TEST(Segments, AnExportByTimeIsCutAtKeyframesAcrossSegmentsWithEveryPictureAsRecorded) {
  test::TempDir dir;
  test::Collected<VideoEvent> events;
  VideoCapture capture(continuous(test::vtest_avi().string(), dir.path(), 10s), [&](const VideoEvent& e) { events(e); });
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return !events.of<VideoEnded>().empty(); }, 120s));
  capture.stop();
  const auto segments = events.of<SegmentClosed>();
  ASSERT_GE(segments.size(), 5u);
  std::vector<ExportSource> sources;
  for (const auto& s : segments) sources.push_back({s.id, s.file, s.start_utc});
  const UtcTime from = kOrigin + 12350ms, to = kOrigin + 37350ms;
  const auto out = dir.path() / "export.mp4";
  auto exported = export_footage(sources, from, to, out, "export", "test export");
  ASSERT_TRUE(exported) << exported.error().message;
  // From the keyframe at or before 12.35 s (one every 2 s: 12.0) to the last picture before 37.35.
  EXPECT_EQ(exported->start_utc, kOrigin + 12s);
  EXPECT_EQ(exported->end_utc, kOrigin + 37400ms);
  EXPECT_EQ(exported->frames, 254u);
  ASSERT_EQ(exported->segments.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& s = segments[i + 1];
    EXPECT_EQ(exported->segments[i], s.id);
  }
  const Probed probed = ffprobe(out);
  EXPECT_EQ(probed.frames, 254u);
  EXPECT_TRUE(probed.starts_with_keyframe);
  EXPECT_NEAR(probed.first_pts, 0.0, 1e-3);
  EXPECT_NEAR(probed.last_pts, 25.3, 0.011);
  // The same pictures, byte for byte in size, as the segments hold for those times.
  std::vector<int> recorded;
  for (std::size_t i = 1; i <= 3; ++i) {
    const Probed part = ffprobe(segments[i].file);
    const double offset = std::chrono::duration<double>(segments[i].start_utc - kOrigin).count();
    for (std::size_t n = 0; n < part.sizes.size(); ++n) {
      const double t = offset + static_cast<double>(n) / 10.0;
      if (t > 11.95 && t < 37.35) recorded.push_back(part.sizes[n]);
    }
  }
  EXPECT_EQ(probed.sizes, recorded);
  // What cannot be exported is said.
  EXPECT_FALSE(export_footage(sources, to, from, dir.path() / "backwards.mp4", "x", "x"));
  auto none = export_footage(sources, kOrigin - 1h, kOrigin - 30min, dir.path() / "none.mp4", "x", "x");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no footage between"), std::string::npos) << none.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "none.mp4.part"));
}
