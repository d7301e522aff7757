// The recording branch and evidence clips, through the real pipeline: synthetic scenes and
// vtest.avi decoded, privacy-masked, encoded with x264enc, cut into MP4 clips on disk and checked
// with ffprobe and by decoding them again.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "assure/pipelines/privacy_mask.hpp"
#include "scenes.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::pipelines;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const UtcTime kOrigin = std::chrono::sys_days{std::chrono::year{2026} / 11 / 23} + 10h;

struct Outcome {
  std::vector<ClipOpened> opened;
  std::vector<ClipClosed> clips;
  std::vector<MotionEnd> motions;
  std::vector<MotionStart> starts;
  std::vector<std::string> problems;  // VideoLost other than the end of the file
};

RecordingOptions recording_in(const std::filesystem::path& dir) {
  RecordingOptions r;
  r.dir = dir;
  r.device_id = "pole-7";
  r.camera_id = "cam0";
  r.encoder = "x264enc tune=zerolatency speed-preset=ultrafast bitrate=1024";
  r.utc_origin = kOrigin;
  return r;
}

MotionSettings quick_motion() {
  MotionSettings m;
  m.event_gap = 1000ms;
  return m;
}

// The whole file through the capture, as fast as it decodes, every frame analysed.
Outcome replay(const std::string& video, RecordingOptions recording, std::vector<Polygon> masks = {},
               MotionSettings motion = quick_motion()) {
  Outcome out;
  std::mutex mutex;
  std::condition_variable ended;
  bool done = false;
  CaptureOptions options;
  options.source = {.kind = "file", .location = video};
  options.realtime = false;
  options.retry = false;
  options.motion = motion;
  options.privacy_masks = std::move(masks);
  options.recording = std::move(recording);
  VideoCapture capture(options, [&](const VideoEvent& event) {
    std::lock_guard lock(mutex);
    if (auto* o = std::get_if<ClipOpened>(&event)) out.opened.push_back(*o);
    if (auto* c = std::get_if<ClipClosed>(&event)) out.clips.push_back(*c);
    if (auto* m = std::get_if<MotionEnd>(&event)) out.motions.push_back(*m);
    if (auto* m = std::get_if<MotionStart>(&event)) out.starts.push_back(*m);
    if (auto* l = std::get_if<VideoLost>(&event); l && l->reason.rfind("end of stream", 0) != 0) {
      out.problems.push_back(l->reason);
    }
    if (std::holds_alternative<VideoEnded>(event)) {
      done = true;
      ended.notify_all();
    }
  });
  capture.start();
  {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(ended.wait_for(lock, 120s, [&] { return done; })) << "the replay did not end";
  }
  capture.stop();
  return out;
}

std::string scene_video(const test::TempDir& dir, const test::Scene& scene) {
  const std::string path = (dir.path() / (scene.name + ".mp4")).string();
  const std::string problem = test::write_video(scene, path);
  EXPECT_TRUE(problem.empty()) << problem;
  return path;
}

// ffprobe's view of a file: what a common player's demuxer and decoder make of it.
json ffprobe(const std::filesystem::path& file) {
  const std::string command =
      "ffprobe -v error -count_frames -show_entries "
      "stream=codec_name,width,height,nb_read_frames:format=duration:format_tags=creation_time,comment "
      "-of json '" + file.string() + "' 2>&1";
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    ::pclose(pipe);
  }
  auto parsed = json::parse(output, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << output;
  return parsed.is_discarded() ? json::object() : parsed;
}

json sidecar(const ClipClosed& clip) {
  std::ifstream in(clip.sidecar);
  return json::parse(in, nullptr, false);
}

double seconds_after_origin(UtcTime t) { return std::chrono::duration<double>(t - kOrigin).count(); }

// Mean of a greyscale rectangle (normalised coordinates) of the first decoded frame of a file.
struct Means {
  double masked = -1;
  double open = -1;
};
Means first_frame_means(const std::filesystem::path& file, cv::Rect2d masked, cv::Rect2d open) {
  const std::string launch = "filesrc location=\"" + file.string() +
                             "\" ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=out sync=false";
  GstElement* pipeline = gst_parse_launch(launch.c_str(), nullptr);
  Means means;
  if (pipeline == nullptr) return means;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  if (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    GstMapInfo map;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      const cv::Mat frame(GST_VIDEO_INFO_HEIGHT(&info), GST_VIDEO_INFO_WIDTH(&info), CV_8U, map.data,
                          static_cast<std::size_t>(GST_VIDEO_INFO_PLANE_STRIDE(&info, 0)));
      const auto rect = [&](cv::Rect2d r) {
        return cv::Rect(static_cast<int>(r.x * frame.cols), static_cast<int>(r.y * frame.rows),
                        static_cast<int>(r.width * frame.cols), static_cast<int>(r.height * frame.rows));
      };
      means.masked = cv::mean(frame(rect(masked)))[0];
      means.open = cv::mean(frame(rect(open)))[0];
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return means;
}

}  // namespace

TEST(Recording, AClipHoldsThePreEventTheMotionAndTheTailAndPlaysInFfprobe) {
  test::TempDir dir;
  const auto video = scene_video(dir, test::visits("visit", 400, {{150, 210}}));
  auto recording = recording_in(dir.path() / "clips");
  recording.pre_event = 10s;
  recording.post_event = 5s;
  const Outcome out = replay(video, recording);
  ASSERT_TRUE(out.problems.empty()) << out.problems.front();
  ASSERT_EQ(out.motions.size(), 1u);
  ASSERT_EQ(out.clips.size(), 1u);
  const ClipClosed& clip = out.clips[0];
  ASSERT_TRUE(clip.error.empty()) << clip.error;
  EXPECT_EQ(clip.reason, "tail ended");
  EXPECT_TRUE(std::filesystem::is_regular_file(clip.file));
  EXPECT_FALSE(std::filesystem::exists(clip.file.string() + ".part"));
  EXPECT_EQ(clip.id.rfind("pole-7-cam0-20261123T10", 0), 0u) << clip.id;

  // Motion began at about 15.0 s: the clip starts at the keyframe at or before 5.0 s (keyframes
  // at least every 2 s), and ends 5 s after the last frame with motion.
  const double motion_start = static_cast<double>(out.motions[0].start_pts.count()) / 1e9;
  const double motion_end = static_cast<double>(out.motions[0].end_pts.count()) / 1e9;
  EXPECT_NEAR(motion_start, 15.0, 0.5);
  EXPECT_LE(seconds_after_origin(clip.start_utc), motion_start - 10.0 + 1e-6);
  EXPECT_GE(seconds_after_origin(clip.start_utc), motion_start - 12.0);
  EXPECT_NEAR(seconds_after_origin(clip.end_utc), motion_end + 5.0, 0.25);

  const json side = sidecar(clip);
  ASSERT_FALSE(side.is_discarded());
  EXPECT_EQ(side["device"], "pole-7");
  EXPECT_EQ(side["camera"], "cam0");
  EXPECT_EQ(side["clip"], clip.id);
  EXPECT_EQ(side["utc_start"], utc_iso8601(clip.start_utc));
  EXPECT_EQ(side["frames"], clip.frames);
  EXPECT_LE(side["max_keyframe_gap_ms"].get<int>(), 2000);
  EXPECT_GE(side["pre_event_ms"].get<int>(), 10000);
  ASSERT_EQ(side["events"].size(), 1u);
  EXPECT_EQ(side["events"][0]["start_frame"], out.motions[0].start_frame);
  EXPECT_EQ(side["events"][0]["end_frame"], out.motions[0].end_frame);
  EXPECT_TRUE(side["error"].is_null());

  const json probe = ffprobe(clip.file);
  ASSERT_EQ(probe["streams"].size(), 1u) << probe.dump();
  EXPECT_EQ(probe["streams"][0]["codec_name"], "h264");
  EXPECT_EQ(probe["streams"][0]["width"], 320);
  EXPECT_EQ(std::stoull(probe["streams"][0]["nb_read_frames"].get<std::string>()), clip.frames);
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), static_cast<double>(clip.frames) / 10, 0.15);
  // The UTC start in the file's own metadata: creation_time (to the second) and the comment.
  EXPECT_EQ(probe["format"]["tags"]["creation_time"].get<std::string>().substr(0, 19),
            utc_iso8601(clip.start_utc).substr(0, 19));
  EXPECT_NE(probe["format"]["tags"]["comment"].get<std::string>().find("UTC start " + utc_iso8601(clip.start_utc)),
            std::string::npos);
}

TEST(Recording, MotionDuringTheTailExtendsTheClip) {
  test::TempDir dir;
  // Two visits 4 s apart: two events (event_gap 1 s), one clip (tail 6 s).
  const auto video = scene_video(dir, test::visits("two-visits", 300, {{60, 90}, {130, 160}}));
  auto recording = recording_in(dir.path() / "clips");
  recording.pre_event = 3s;
  recording.post_event = 6s;
  const Outcome out = replay(video, recording);
  ASSERT_EQ(out.motions.size(), 2u);
  ASSERT_EQ(out.clips.size(), 1u);
  EXPECT_TRUE(out.clips[0].error.empty()) << out.clips[0].error;
  ASSERT_EQ(out.clips[0].events.size(), 2u);
  EXPECT_EQ(out.clips[0].events[1].start_frame, out.motions[1].start_frame);
  EXPECT_NEAR(seconds_after_origin(out.clips[0].end_utc),
              static_cast<double>(out.motions[1].end_pts.count()) / 1e9 + 6.0, 0.25);
}

TEST(Recording, MotionAfterTheTailOpensANewClip) {
  test::TempDir dir;
  const auto video = scene_video(dir, test::visits("far-apart", 320, {{40, 70}, {220, 250}}));
  auto recording = recording_in(dir.path() / "clips");
  recording.pre_event = 2s;
  recording.post_event = 3s;
  const Outcome out = replay(video, recording);
  ASSERT_EQ(out.motions.size(), 2u);
  ASSERT_EQ(out.clips.size(), 2u);
  for (const auto& clip : out.clips) {
    EXPECT_TRUE(clip.error.empty()) << clip.error;
    EXPECT_EQ(clip.events.size(), 1u);
    EXPECT_TRUE(std::filesystem::is_regular_file(clip.file));
    EXPECT_TRUE(std::filesystem::is_regular_file(clip.sidecar));
  }
  EXPECT_NE(out.clips[0].id, out.clips[1].id);
  EXPECT_LT(out.clips[0].end_utc, out.clips[1].start_utc);
}

TEST(Recording, ALongClipIsSplitAtAKeyframeWithoutLosingOrRepeatingAFrame) {
  test::TempDir dir;
  auto recording = recording_in(dir.path() / "clips");
  recording.pre_event = 2s;
  recording.post_event = 2s;
  recording.max_clip = 20s;
  const Outcome out = replay(test::vtest_avi().string(), recording);  // people throughout, 79.5 s
  ASSERT_GE(out.clips.size(), 3u);
  std::uint64_t frames = 0;
  for (std::size_t i = 0; i < out.clips.size(); ++i) {
    const ClipClosed& clip = out.clips[i];
    ASSERT_TRUE(clip.error.empty()) << clip.error;
    frames += clip.frames;
    const json probe = ffprobe(clip.file);
    EXPECT_EQ(std::stoull(probe["streams"][0]["nb_read_frames"].get<std::string>()), clip.frames) << clip.id;
    if (i + 1 < out.clips.size()) {
      EXPECT_EQ(clip.reason, "split at max_clip");
      EXPECT_LE(clip.end_utc - clip.start_utc, 22s);  // split at the first keyframe after 20 s
      EXPECT_EQ(out.clips[i + 1].continues, clip.id);
      EXPECT_EQ(out.clips[i + 1].start_utc, clip.end_utc) << "a gap or an overlap between " << clip.id;
    }
  }
  // Every frame from the first clip's start to the end of the file is in exactly one clip.
  const double first = seconds_after_origin(out.clips.front().start_utc);
  EXPECT_EQ(frames, static_cast<std::uint64_t>(std::lround((79.5 - first) * 10)));
  EXPECT_EQ(out.clips.back().reason, "end of stream");
}

// A looping file camera seeks back to its start, and a rebooted IP camera restarts its clock: the
// times the recorder sees go back. Clips must still split at max_clip, contiguous, instead of one
// clip running on for ever (found: a clip of 151 s with max_clip 10 after the first loop).
TEST(Recording, ALoopingFileCameraStillSplitsClipsAtMaxClip) {
  test::TempDir dir;
  const auto video = scene_video(dir, test::visits("walk", 60, {{0, 60}}));  // 6 s, someone walking throughout
  auto recording = recording_in(dir.path() / "clips");
  recording.pre_event = 1s;
  recording.post_event = 1s;
  recording.max_clip = 4s;
  CaptureOptions options;
  options.source = {.kind = "file", .location = video, .loop = true};
  options.realtime = false;
  options.retry = false;
  options.motion = quick_motion();
  options.recording = std::move(recording);
  test::Collected<VideoEvent> events;
  VideoCapture capture(options, [&](const VideoEvent& e) { events(e); });
  capture.start();
  const bool enough = test::eventually([&] { return events.of<ClipClosed>().size() >= 5; }, 90s);
  capture.stop();
  ASSERT_TRUE(enough) << "clips stopped splitting: " << events.of<ClipClosed>().size() << " in 90 s";
  const auto clips = events.of<ClipClosed>();
  for (std::size_t i = 0; i + 1 < 5; ++i) {  // three loops of the file and more
    EXPECT_EQ(clips[i].reason, "split at max_clip") << clips[i].id;
    EXPECT_LE(clips[i].end_utc - clips[i].start_utc, 6s) << clips[i].id;  // the first keyframe after 4 s
    EXPECT_EQ(clips[i + 1].start_utc, clips[i].end_utc) << "a gap or an overlap after " << clips[i].id;
  }
}

TEST(Recording, AClipThatCannotBeWrittenIsReportedAndTheCaptureGoesOn) {
  test::TempDir dir;
  const auto blocker = dir.write("not-a-folder", "a file where the clip folder should be");
  const auto video = scene_video(dir, test::visits("visit", 200, {{60, 120}}));
  auto recording = recording_in(blocker / "clips");
  recording.pre_event = 2s;
  recording.post_event = 2s;
  const Outcome out = replay(video, recording);
  ASSERT_EQ(out.motions.size(), 1u);  // the analysis went on
  ASSERT_EQ(out.clips.size(), 1u);
  EXPECT_FALSE(out.clips[0].error.empty());
  EXPECT_NE(out.clips[0].error.find("not-a-folder"), std::string::npos) << out.clips[0].error;
}

TEST(PrivacyMask, BlacksOutItsPolygonsInEveryFormatItTakes) {
  ensure_gstreamer();
  for (const char* format : {"I420", "NV12", "Y444", "GRAY8", "RGBx", "BGR"}) {
    SCOPED_TRACE(format);
    const std::string launch = std::string("videotestsrc pattern=white num-buffers=1 ! video/x-raw,format=") + format +
                               ",width=64,height=48 ! " + privacy_mask_description({*parse_polygon("0,0 0.5,0 0.5,0.5 0,0.5")}) +
                               " ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=out";
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
    ASSERT_EQ(error, nullptr) << error->message;
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
    ASSERT_NE(sample, nullptr);
    GstMapInfo map;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    ASSERT_TRUE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
    const auto at = [&](int x, int y) { return static_cast<int>(map.data[y * stride + x]); };
    EXPECT_LE(at(0, 0), 20);    // inside: black
    EXPECT_LE(at(31, 23), 20);  // the corner of the mask
    EXPECT_GE(at(40, 10), 230);  // outside: untouched white
    EXPECT_GE(at(10, 40), 230);
    EXPECT_GE(at(63, 47), 230);
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
  }
}

TEST(PrivacyMask, AnUnusableMaskStopsThePipelineRatherThanLetAFrameThrough) {
  ensure_gstreamer();
  const std::string launch = std::string("videotestsrc num-buffers=5 ! ") + kPrivacyMaskElement +
                             " polygons=\"0,0 2,0 1,1\" ! fakesink";
  GstElement* pipeline = gst_parse_launch(launch.c_str(), nullptr);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  ASSERT_NE(message, nullptr);
  ASSERT_EQ(GST_MESSAGE_TYPE(message), GST_MESSAGE_ERROR);
  GError* error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  EXPECT_NE(std::string(error->message).find("privacy mask: polygons \"0,0 2,0 1,1\": polygon 1: point 2"),
            std::string::npos)
      << error->message;
  g_clear_error(&error);
  gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

TEST(PrivacyMask, WhatItHidesNeverReachesTheDetectorOrTheClips) {
  test::TempDir dir;
  const auto video = scene_video(dir, test::visits("masked-walk", 200, {{60, 120}}));
  // The walker's path runs along y 0.6..0.8; the first mask hides it completely.
  const Polygon path_band = *parse_polygon("0,0.55 1,0.55 1,0.85 0,0.85");
  const Outcome hidden = replay(video, recording_in(dir.path() / "hidden"), {path_band});
  EXPECT_TRUE(hidden.motions.empty()) << "motion seen through a privacy mask";
  EXPECT_TRUE(hidden.clips.empty());

  // A mask over a building (top left) leaves the walker seen; the clip carries the mask burnt in.
  const Polygon building = *parse_polygon("0,0 0.35,0 0.35,0.5 0,0.5");
  auto recording = recording_in(dir.path() / "clips");
  recording.pre_event = 8s;  // the clip starts at frame 0, before anyone appears
  recording.post_event = 1s;
  const Outcome seen = replay(video, recording, {building});
  ASSERT_EQ(seen.motions.size(), 1u);
  ASSERT_EQ(seen.clips.size(), 1u);
  ASSERT_TRUE(seen.clips[0].error.empty()) << seen.clips[0].error;
  const Means means = first_frame_means(seen.clips[0].file, {0.02, 0.02, 0.3, 0.45}, {0.5, 0.05, 0.4, 0.3});
  EXPECT_GE(means.masked, 0);
  EXPECT_LE(means.masked, 20) << "the masked building reached the clip";
  EXPECT_GE(means.open, 50) << "the unmasked part of the scene is missing";

  // Nor the snapshot the control room sees first.
  ASSERT_EQ(seen.starts.size(), 1u);
  const cv::Mat snapshot = cv::imdecode(seen.starts[0].snapshot_jpeg, cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(snapshot.empty());
  EXPECT_LE(cv::mean(snapshot(cv::Rect(6, 5, 96, 108)))[0], 20) << "the masked building reached the snapshot";
  EXPECT_GE(cv::mean(snapshot(cv::Rect(160, 12, 128, 72)))[0], 50);
}
