// Analysis cost per frame, and ratios against baselines measured in the same run:
//   downscale: a 1080p or 720p greyscale frame to the 320 px analysis size (cv::resize, INTER_AREA);
//   naive: plain frame differencing (absdiff, threshold, count) at 320x240, the least any detector does;
//   detector: MotionDetector::process on a moving scene at 320x240 (a person in rain, and walk: a
//   person in a still, dry scene);
//   tamper: TamperDetector::process on the same frames.
// Target (issue 3): downscale + detector at most 1 ms per 1080p frame on one core.
// Run: build/release/bin/analysis_bench

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <opencv2/imgproc.hpp>

#include "assure/pipelines/motion.hpp"
#include "assure/pipelines/tamper.hpp"
#include "scenes.hpp"

namespace {

// The scene measured unless another is named: a person walking in rain (change all over the view).
constexpr const char* kRainWalk = "rain-walk";

// Frames 60-159 of one of the project's scenes.
std::vector<cv::Mat> scene_frames(const std::string& name = kRainWalk) {
  static std::map<std::string, std::vector<cv::Mat>> made;
  auto& frames = made[name];
  if (frames.empty()) {
    const auto scene = assure::test::scene(name);
    for (int f = 60; f < 160; ++f) frames.push_back(scene.render(f));
  }
  return frames;
}

void Downscale(benchmark::State& state) {
  const int height = static_cast<int>(state.range(0));
  cv::Mat big;
  cv::resize(scene_frames()[0], big, {height * 16 / 9, height}, 0, 0, cv::INTER_LINEAR);
  cv::Mat small;
  for (auto _ : state) {
    cv::resize(big, small, {320, 180}, 0, 0, cv::INTER_AREA);
    benchmark::DoNotOptimize(small.data);
  }
}
BENCHMARK(Downscale)->Arg(1080)->Arg(720)->Unit(benchmark::kMicrosecond);

void NaiveDifference(benchmark::State& state) {
  const auto frames = scene_frames();
  cv::Mat diff;
  std::size_t i = 1;
  for (auto _ : state) {
    cv::absdiff(frames[i % frames.size()], frames[(i - 1) % frames.size()], diff);
    cv::threshold(diff, diff, 25, 255, cv::THRESH_BINARY);
    benchmark::DoNotOptimize(cv::countNonZero(diff));
    ++i;
  }
}
BENCHMARK(NaiveDifference)->Unit(benchmark::kMicrosecond);

// One detector over the scene's frames, in order, with their stream times.
template <typename Detector>
void run_over_scene(benchmark::State& state, Detector& detector, const std::string& scene = kRainWalk) {
  const auto frames = scene_frames(scene);
  std::int64_t i = 0;
  for (auto _ : state) {
    const cv::Mat& f = frames[static_cast<std::size_t>(i) % frames.size()];
    auto events = detector.process({f.data, f.cols, f.rows, static_cast<int>(f.step), i, std::chrono::milliseconds{100 * i}});
    benchmark::DoNotOptimize(events.data());
    ++i;
  }
}

void Detector(benchmark::State& state) {
  assure::pipelines::MotionDetector detector({});
  run_over_scene(state, detector);
}
BENCHMARK(Detector)->Unit(benchmark::kMicrosecond);

// The common case: one person walking through a still, dry scene (the change in a small part of it).
void DetectorWalk(benchmark::State& state) {
  assure::pipelines::MotionDetector detector({});
  run_over_scene(state, detector, "walk");
}
BENCHMARK(DetectorWalk)->Unit(benchmark::kMicrosecond);

void Tamper(benchmark::State& state) {
  assure::pipelines::TamperDetector detector;
  run_over_scene(state, detector);
}
BENCHMARK(Tamper)->Unit(benchmark::kMicrosecond);

class Ratios : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) us_[run.benchmark_name()] = run.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const double detector = us_["Detector"], naive = us_["NaiveDifference"];
    const double down1080 = us_["Downscale/1080"], down720 = us_["Downscale/720"];
    std::printf("\ndetector / naive differencing at 320x240: %.1fx the cost\n", detector / naive);
    std::printf("per 1080p frame: downscale %.0f us + detector %.0f us = %.3f ms (target 1 ms: %s)\n", down1080,
                detector, (down1080 + detector) / 1000, down1080 + detector <= 1000 ? "met" : "NOT met");
    std::printf("per 720p frame:  downscale %.0f us + detector %.0f us = %.3f ms\n", down720, detector,
                (down720 + detector) / 1000);
  }

 private:
  std::map<std::string, double> us_;
};

}  // namespace

int main(int argc, char** argv) {
  cv::setNumThreads(0);  // as the daemon's analysis thread
  benchmark::Initialize(&argc, argv);
  Ratios reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  return 0;
}
