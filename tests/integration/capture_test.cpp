// The capture on real video through real GStreamer: frames flow, sources that fail or end raise
// video-loss and are retried, and frames coming back raise a restore.

#include <gtest/gtest.h>

#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "assure/pipelines/capture.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using pipelines::VideoLost;
using pipelines::VideoStarted;

namespace {

using Recorder = test::Collected<pipelines::VideoEvent>;

pipelines::CaptureOptions fast(pipelines::SourceSpec source) {
  pipelines::CaptureOptions o;
  o.source = std::move(source);
  o.realtime = false;
  o.retry_min = 50ms;
  o.retry_max = 200ms;
  return o;
}

}  // namespace

TEST(Capture, VtestDecodesEveryFrameThenEndsAndIsRetried) {
  Recorder recorder;
  pipelines::VideoCapture capture(fast({.kind = "file", .location = test::vtest_avi().string()}),
                                  std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return !recorder.of<VideoLost>().empty(); }, 60s));
  auto started = recorder.of<VideoStarted>();
  ASSERT_FALSE(started.empty());
  EXPECT_EQ(started[0].width, 768);
  EXPECT_EQ(started[0].height, 576);
  EXPECT_DOUBLE_EQ(started[0].framerate, 10.0);
  EXPECT_FALSE(started[0].restored);
  EXPECT_EQ(capture.frames(), 795u);  // every frame of the clip, none dropped
  auto lost = recorder.of<VideoLost>();
  EXPECT_NE(lost[0].reason.find("end of stream"), std::string::npos) << lost[0].reason;
  EXPECT_EQ(lost[0].attempt, 1u);
  // It is tried again, and the frames come back as a restore.
  ASSERT_TRUE(test::eventually([&] { return recorder.of<VideoStarted>().size() >= 2; }, 30s));
  EXPECT_TRUE(recorder.of<VideoStarted>()[1].restored);
  capture.stop();
}

TEST(Capture, ALoopedFileRunsOnWithoutALoss) {
  Recorder recorder;
  auto options = fast({.kind = "file", .location = test::vtest_avi().string(), .loop = true});
  pipelines::VideoCapture capture(options, std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() > 1000; }, 60s));
  capture.stop();
  EXPECT_TRUE(recorder.of<VideoLost>().empty());
  EXPECT_EQ(recorder.of<VideoStarted>().size(), 1u);
}

TEST(Capture, AMissingFileIsRetriedWithBackoffAndRestoredWhenItAppears) {
  test::TempDir dir;
  const auto file = dir.path() / "camera.avi";
  Recorder recorder;
  pipelines::VideoCapture capture(fast({.kind = "file", .location = file.string()}), std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return recorder.of<VideoLost>().size() >= 3; }, 20s));
  auto lost = recorder.of<VideoLost>();
  EXPECT_EQ(lost[0].reason, "file source: no video file at '" + file.string() + "'");
  EXPECT_EQ(lost[0].attempt, 1u);
  EXPECT_EQ(lost[2].attempt, 3u);
  EXPECT_LE(lost[2].retry_in, 200ms);
  std::filesystem::copy_file(test::vtest_avi(), file);
  ASSERT_TRUE(test::eventually([&] { return !recorder.of<VideoStarted>().empty(); }, 30s));
  EXPECT_TRUE(recorder.of<VideoStarted>()[0].restored);
  capture.stop();
}

TEST(Capture, AFileThatIsNotVideoIsALossNamingTheElementNotACrash) {
  test::TempDir dir;
  std::string junk(64 * 1024, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919) % 251);
  auto file = dir.write("junk.avi", "RIFF" + junk);
  Recorder recorder;
  pipelines::VideoCapture capture(fast({.kind = "file", .location = file.string()}), std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return recorder.of<VideoLost>().size() >= 2; }, 30s));
  capture.stop();
  EXPECT_EQ(capture.frames(), 0u);
  EXPECT_TRUE(recorder.of<VideoStarted>().empty());
  EXPECT_FALSE(recorder.of<VideoLost>()[0].reason.empty());
}

TEST(Capture, TheTestSourceRunsLive) {
  Recorder recorder;
  pipelines::CaptureOptions options;
  options.source = {.kind = "test", .width = 320, .height = 240, .framerate = 25};
  pipelines::VideoCapture capture(options, std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() >= 10; }, 20s));
  capture.stop();
  auto started = recorder.of<VideoStarted>();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].width, 320);
  EXPECT_DOUBLE_EQ(started[0].framerate, 25.0);
}

TEST(Capture, StopIsPromptEvenWhileWaitingToRetry) {
  Recorder recorder;
  auto options = fast({.kind = "file", .location = "/nonexistent/camera.avi"});
  options.retry_min = 60s;
  options.retry_max = 60s;
  pipelines::VideoCapture capture(options, std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return !recorder.of<VideoLost>().empty(); }, 10s));
  const auto start = std::chrono::steady_clock::now();
  capture.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

namespace {

// vtest.avi from start to end with the motion detector on; the motion starts it raised.
std::vector<pipelines::MotionStart> vtest_starts(int snapshot_width) {
  Recorder recorder;
  auto options = fast({.kind = "file", .location = test::vtest_avi().string()});
  options.retry = false;
  options.motion = pipelines::MotionSettings{};
  options.snapshot_width = snapshot_width;
  pipelines::VideoCapture capture(options, std::ref(recorder));
  capture.start();
  EXPECT_TRUE(test::eventually([&] { return !recorder.of<pipelines::VideoEnded>().empty(); }, 60s));
  capture.stop();
  return recorder.of<pipelines::MotionStart>();
}

}  // namespace

TEST(Capture, AMotionStartCarriesAColourSnapshotOfItsFrameWithTheBoxDrawn) {
  const auto starts = vtest_starts(640);
  ASSERT_FALSE(starts.empty());
  for (const auto& start : starts) {
    const cv::Mat jpeg = cv::imdecode(start.snapshot_jpeg, cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(jpeg.empty()) << "frame " << start.raised_frame;
    EXPECT_EQ(jpeg.channels(), 3);
    EXPECT_EQ(jpeg.cols, 640);  // vtest is 768x576: scaled to the width asked, its shape kept
    EXPECT_EQ(jpeg.rows, 480);
    // The box is drawn in red at the place the detector gave.
    const int x = static_cast<int>(start.box.x * 640) + 1;
    const int y = static_cast<int>((start.box.y + start.box.h / 2) * 480);
    const cv::Vec3b edge = jpeg.at<cv::Vec3b>(y, x);  // B, G, R
    EXPECT_GT(edge[2], 160) << "at " << x << "," << y;
    EXPECT_LT(edge[1], 110) << "at " << x << "," << y;
  }
  // Colour, not grey: some of the campus is saturated.
  cv::Mat hsv;
  cv::cvtColor(cv::imdecode(starts[0].snapshot_jpeg, cv::IMREAD_COLOR), hsv, cv::COLOR_BGR2HSV);
  std::vector<cv::Mat> channels;
  cv::split(hsv, channels);
  EXPECT_GT(cv::countNonZero(channels[1] > 60), 640 * 480 / 100);
}

TEST(Capture, WithColourSnapshotsOffTheDetectorsSmallGreyFrameIsSent) {
  const auto starts = vtest_starts(0);
  ASSERT_FALSE(starts.empty());
  const cv::Mat jpeg = cv::imdecode(starts[0].snapshot_jpeg, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(jpeg.empty());
  EXPECT_EQ(jpeg.channels(), 1);
  EXPECT_EQ(jpeg.cols, 320);
}

TEST(Capture, MotionSettingsAndMasksRetunedWhileItRunsWithoutARestart) {
  Recorder recorder;
  auto options = fast({.kind = "file", .location = test::vtest_avi().string()});
  options.retry = false;
  pipelines::MotionSettings blind;
  blind.min_area = 0.5;  // nothing on vtest's campus is half the picture: no event while this runs
  options.motion = blind;
  pipelines::VideoCapture capture(options, std::ref(recorder));
  capture.aim(true);
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() > 150; }, 30s));
  EXPECT_TRUE(recorder.of<pipelines::MotionStart>().empty());
  const auto retuned_at = static_cast<std::int64_t>(capture.frames());
  // An engineer sets a normal sensitivity, live; later masks the whole picture.
  ASSERT_TRUE(capture.retune(pipelines::MotionSettings{}, {}));
  ASSERT_TRUE(test::eventually([&] { return capture.frames() > 450; }, 30s));
  ASSERT_TRUE(capture.retune(pipelines::MotionSettings{}, {{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}));
  ASSERT_TRUE(test::eventually([&] { return !recorder.of<pipelines::VideoEnded>().empty(); }, 60s));
  capture.stop();

  EXPECT_EQ(recorder.of<VideoStarted>().size(), 1u) << "retuned, not restarted";
  // Motion is found once the detector may see it: from the frames being analysed when it was told
  // (frames are counted entering the branch; the analysis can be up to 11 behind: the queue
  // element's 4, the appsink's 2, the analysis thread's 4 and the one in hand).
  const auto starts = recorder.of<pipelines::MotionStart>();
  ASSERT_FALSE(starts.empty());
  for (const auto& start : starts) EXPECT_GE(start.start_frame, retuned_at - 11);
  const auto readings = recorder.of<pipelines::AimReading>();
  ASSERT_GE(readings.size(), 20u);  // about one a second of vtest's 80
  EXPECT_GT(readings.front().view.brightness, 60.0);
  EXPECT_GT(readings.front().view.focus, 50.0);
  EXPECT_LT(readings.back().view.brightness, 20.0) << "the mask covers everything now";
  EXPECT_LT(readings.back().view.contrast, 2.0);
  EXPECT_LT(readings.back().view.focus, 5.0);
  EXPECT_FALSE(readings.back().motion);
  ASSERT_FALSE(readings.front().zones.empty());
  // A capture started without motion analysis cannot be given it live.
  pipelines::VideoCapture plain(fast({.kind = "test"}), std::ref(recorder));
  EXPECT_FALSE(plain.retune(pipelines::MotionSettings{}, {}));
  EXPECT_TRUE(plain.retune(std::nullopt, {{{0, 0}, {0.5, 0}, {0.5, 0.5}}}));
}
