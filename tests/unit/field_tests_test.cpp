// The engineer's field tests as pure logic: what streams to which shell, the link test's round
// trip and its timeout, aim readings from real measurements of synthetic pictures, and the shell's
// words for them.

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <numbers>
#include <random>

#include "assure/firmware/field_tests.hpp"
#include "assure/pipelines/aim.hpp"
#include "lines.hpp"

using namespace assure;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct Sent {
  std::vector<std::pair<std::uint64_t, json>> lines;
  app::FieldTests tests{[this](std::uint64_t client, json line) { lines.emplace_back(client, std::move(line)); }};
};

app::FieldTests::Forward request(std::uint64_t client, json r) { return {client, "alice", std::move(r)}; }

pipelines::GrayFrame view(const cv::Mat& m, std::int64_t index = 0, std::chrono::nanoseconds pts = {}) {
  return {m.data, m.cols, m.rows, static_cast<int>(m.step), index, pts};
}

// A scene with edges and texture: squares of several greys.
cv::Mat scene() {
  cv::Mat m(240, 320, CV_8U, cv::Scalar(90));
  for (int i = 0; i < 8; ++i) cv::rectangle(m, cv::Rect(10 + i * 38, 20 + (i % 3) * 60, 30, 50), cv::Scalar(30 + i * 25), -1);
  return m;
}

}  // namespace

TEST(FieldTests, ALinkTestIsAnsweredWithItsRoundTripOrTimesOutNamingTheLink) {
  Sent s;
  const app::Schedule::Time t0{100s};
  s.tests.link_test(request(7, {{"op", "mqtt-test"}, {"id", 3}}), "nonce-a", "cam-01-x-4", t0);
  s.tests.link_test(request(8, {{"op", "mqtt-test"}}), "nonce-b", "cam-01-x-5", t0 + 1s);
  EXPECT_EQ(s.tests.next_deadline(), t0 + app::FieldTests::kLinkTestTimeout);
  EXPECT_TRUE(s.tests.testing_link(7)) << "one at a time: the daemon refuses a second from client 7";
  EXPECT_FALSE(s.tests.testing_link(9));
  EXPECT_FALSE(s.tests.echoed("nonce-unknown", t0 + 20ms));
  ASSERT_TRUE(s.tests.echoed("nonce-a", t0 + 42ms));
  ASSERT_EQ(s.lines.size(), 1u);
  EXPECT_EQ(s.lines[0].first, 7u);
  EXPECT_EQ(s.lines[0].second["ok"], true);
  EXPECT_EQ(s.lines[0].second["id"], 3);
  EXPECT_DOUBLE_EQ(s.lines[0].second["result"]["round_trip_ms"].get<double>(), 42.0);
  EXPECT_FALSE(s.tests.echoed("nonce-a", t0 + 50ms)) << "answered once";
  EXPECT_FALSE(s.tests.testing_link(7));
  // The other is never answered: at its deadline the shell is told why, and it is forgotten.
  s.tests.tick(t0 + 15s, "the device is not connected to the broker");
  EXPECT_EQ(s.lines.size(), 1u) << "not yet: it left a second later";
  s.tests.tick(t0 + 16s, "the device is not connected to the broker");
  ASSERT_EQ(s.lines.size(), 2u);
  EXPECT_EQ(s.lines[1].first, 8u);
  EXPECT_EQ(s.lines[1].second["ok"], false);
  EXPECT_NE(s.lines[1].second["error"].get<std::string>().find(
                "no answer from the control room in 15 s (the device is not connected to the broker; the test event "
                "cam-01-x-5 stays queued)"),
            std::string::npos);
  EXPECT_FALSE(s.tests.next_deadline());
}

TEST(FieldTests, EdgesAndReadingsGoOnlyToTheShellsWatchingAndStopWhenTheyGo) {
  Sent s;
  s.tests.watch_input(request(1, {{"op", "watch"}, {"input", "shock_front_window"}}), "shock_front_window");
  s.tests.watch_input(request(2, {{"op", "watch"}, {"input", "*"}}), "*");
  s.tests.watch_aim(request(3, {{"op", "aim"}}), {"path", "door"});
  EXPECT_TRUE(s.tests.aiming());
  s.lines.clear();
  const auto utc = std::chrono::system_clock::time_point{} + 1000h;
  s.tests.input_edge({"shock_front_window", true, 5ms}, utc);
  s.tests.input_edge({"panic", true, 6ms}, utc);
  ASSERT_EQ(s.lines.size(), 3u);
  EXPECT_EQ(s.lines[0].first, 1u);
  EXPECT_EQ(s.lines[0].second["active_edges"], 1);
  EXPECT_EQ(s.lines[2].first, 2u);
  EXPECT_EQ(s.lines[2].second["input"], "panic");
  EXPECT_EQ(s.lines[2].second["active_edges"], 2) << "every input counted for the one watching all";

  pipelines::AimReading reading;
  reading.zones = {0.25, 0.0};
  reading.view = {112.34, 40.0, 2.345, 812.6};
  reading.motion = true;
  s.lines.clear();
  s.tests.aim(reading, utc);
  ASSERT_EQ(s.lines.size(), 1u);
  EXPECT_EQ(s.lines[0].first, 3u);
  const json& line = s.lines[0].second;
  EXPECT_EQ(line["zones"][0]["zone"], "path");
  EXPECT_DOUBLE_EQ(line["zones"][0]["moving"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(line["brightness"].get<double>(), 112.3);
  const std::string text = shell_tool::streamed_line(line);
  EXPECT_NE(text.find("bright 112.3"), std::string::npos) << text;
  EXPECT_NE(text.find("path 25.0%  door 0.0%  MOTION"), std::string::npos) << text;

  s.tests.unwatch(3);
  EXPECT_FALSE(s.tests.aiming());
  s.tests.gone(1);
  s.tests.wait_for_snapshot(request(2, {{"op", "snapshot"}}));
  s.tests.gone(2);
  s.lines.clear();
  s.tests.input_edge({"shock_front_window", false, 9ms}, utc);
  s.tests.snapshot("cam-01-x-9", {0xFF, 0xD8});
  EXPECT_TRUE(s.lines.empty()) << "nobody is left to tell";
}

TEST(FieldTests, TheShellParsesTheNewCommandsAndSaysWhatIsWrong) {
  EXPECT_EQ(shell_tool::parse_line("camera aim").request, (json{{"op", "aim"}}));
  EXPECT_EQ(shell_tool::parse_line("camera aim 30").request["seconds"], 30);
  EXPECT_NE(shell_tool::parse_line("camera aim forever").error.find("camera aim [SECONDS]"), std::string::npos);
  EXPECT_EQ(shell_tool::parse_line("mqtt test").request, (json{{"op", "mqtt-test"}}));
  EXPECT_NE(shell_tool::parse_line("mqtt").error.find("mqtt test"), std::string::npos);
  EXPECT_EQ(shell_tool::parse_line("reboot").request, (json{{"op", "reboot"}}));
  EXPECT_EQ(shell_tool::completions("camera ", "a"), (std::vector<std::string>{"accept-view", "aim"}));
  EXPECT_EQ(shell_tool::parse_line("camera accept-view").request,
            (json{{"op", "command"}, {"name", "accept_view"}, {"args", json::object()}}));
  EXPECT_EQ(shell_tool::completions("", "mq"), std::vector<std::string>{"mqtt"});
}

TEST(Aim, BrightnessContrastNoiseAndFocusAreMeasuredNotGuessed) {
  const cv::Mat sharp = scene();
  const auto clean = pipelines::measure_view(view(sharp));
  EXPECT_NEAR(clean.brightness, cv::mean(sharp)[0], 0.01);
  EXPECT_GT(clean.contrast, 20.0);
  EXPECT_LT(clean.noise, 1.0) << "flat squares: the estimate sees edges as no noise";
  // Gaussian sensor noise of a known sigma is estimated within 15%.
  for (const double sigma : {3.0, 8.0}) {
    cv::Mat noisy(sharp.size(), CV_16S);
    cv::randn(noisy, 0, sigma);
    cv::Mat out;
    sharp.convertTo(out, CV_16S);
    out += noisy;
    out.convertTo(out, CV_8U);
    EXPECT_NEAR(pipelines::measure_view(view(out)).noise, sigma, sigma * 0.15) << "sigma " << sigma;
  }
  // Out of focus: the focus measure falls; the more blur, the lower.
  cv::Mat soft, softer;
  cv::GaussianBlur(sharp, soft, {0, 0}, 1.5);
  cv::GaussianBlur(sharp, softer, {0, 0}, 4.0);
  const double f_sharp = clean.focus, f_soft = pipelines::measure_view(view(soft)).focus,
               f_softer = pipelines::measure_view(view(softer)).focus;
  EXPECT_GT(f_sharp, 4 * f_soft);
  EXPECT_GT(f_soft, 2 * f_softer);
  // A lens cap: dark and flat.
  const cv::Mat cap(240, 320, CV_8U, cv::Scalar(4));
  const auto capped = pipelines::measure_view(view(cap));
  EXPECT_LT(capped.brightness, 5.0);
  EXPECT_LT(capped.contrast, 0.5);
}

// The one-pass integer measure is OpenCV's float filters summed: the same noise and focus to the
// last few bits, on pictures of every kind (edges, noise, flat, odd sizes, a stride wider than
// the picture).
TEST(Aim, NoiseAndFocusAreWhatOpenCvsFiltersGive) {
  auto by_opencv = [](const cv::Mat& image) {
    static const cv::Mat kernel = (cv::Mat_<float>(3, 3) << 1, -2, 1, -2, 4, -2, 1, -2, 1);
    cv::Mat response, laplacian;
    cv::filter2D(image, response, CV_32F, kernel, {-1, -1}, 0, cv::BORDER_REPLICATE);
    const cv::Rect inner(1, 1, image.cols - 2, image.rows - 2);
    const double noise = std::sqrt(std::numbers::pi / 2.0) * cv::norm(response(inner), cv::NORM_L1) /
                         (6.0 * inner.width * inner.height);
    cv::Laplacian(image, laplacian, CV_32F);
    cv::Scalar mean, deviation;
    cv::meanStdDev(laplacian(inner), mean, deviation);
    return std::pair{noise, deviation[0] * deviation[0]};
  };
  std::vector<cv::Mat> pictures{scene(), cv::Mat(120, 160, CV_8U, cv::Scalar(0)), cv::Mat(90, 160, CV_8U, cv::Scalar(255))};
  for (const cv::Size size : {cv::Size(160, 120), cv::Size(160, 90), cv::Size(33, 7), cv::Size(3, 3)}) {
    cv::Mat noise(size, CV_8U);
    cv::randu(noise, 0, 256);
    pictures.push_back(noise);
  }
  cv::Mat wide(100, 200, CV_8U);
  cv::randu(wide, 0, 256);
  pictures.push_back(wide(cv::Rect(13, 5, 150, 80)));  // a stride of 200
  cv::Mat edges = scene();
  cv::GaussianBlur(edges, edges, {0, 0}, 1.2);
  pictures.push_back(edges);
  for (const cv::Mat& picture : pictures) {
    const auto [noise, focus] = by_opencv(picture);
    const auto measured = pipelines::measure_view(view(picture));
    EXPECT_NEAR(measured.noise, noise, 1e-9 * std::max(1.0, noise)) << picture.size();
    EXPECT_NEAR(measured.focus, focus, 1e-6 * std::max(1.0, focus)) << picture.size();
  }
}

TEST(Aim, AReadingASecondOfStreamTimeWithEachZonesPeak) {
  pipelines::AimMeter meter(1s);
  const cv::Mat m = scene();
  pipelines::FrameVerdict quiet, moving;
  moving.motion = true;
  moving.threshold = 23.5;
  std::vector<pipelines::AimReading> readings;
  for (int i = 0; i <= 20; ++i) {  // 10 fps for two seconds
    const bool walk = i == 4 || i == 5;
    const std::vector<double> zones{walk ? 0.1 * i : 0.0, 0.01};
    if (auto r = meter.add(view(m, i, i * 100ms), walk ? moving : quiet, zones)) readings.push_back(*r);
  }
  ASSERT_EQ(readings.size(), 2u);
  EXPECT_EQ(readings[0].frame, 10);
  EXPECT_EQ(readings[0].frames, 11);
  EXPECT_TRUE(readings[0].motion);
  EXPECT_DOUBLE_EQ(readings[0].zones[0], 0.5) << "the peak in the second, not the last frame's";
  EXPECT_FALSE(readings[1].motion);
  EXPECT_DOUBLE_EQ(readings[1].zones[0], 0.0);
  EXPECT_GT(readings[1].view.focus, 0.0);
  // A stream that starts again (a looping file) starts a new period rather than waiting it out.
  EXPECT_FALSE(meter.add(view(m, 0, 0ms), quiet, {0.0, 0.0}));
}
