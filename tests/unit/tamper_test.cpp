// The tamper detector on synthetic scenes with known ground truth (tests/support/tamper_scenes.cpp):
// each kind caught within 10 s and restored when the view comes back, and no tamper in any scene
// without one (every motion scene too: night, lights, IR, rain, snow, shake, people close by).

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <opencv2/imgproc.hpp>

#include "assure/pipelines/tamper.hpp"
#include "scenes.hpp"

using namespace assure;
using namespace std::chrono_literals;
using pipelines::TamperEnd;
using pipelines::TamperStart;

namespace {

struct Outcome {
  std::vector<TamperStart> starts;
  std::vector<TamperEnd> ends;
  int caught = 0;           // truths raised with their kind
  int false_tampers = 0;    // raised with no truth (or of the wrong kind)
  double worst_latency = 0; // s from the tamper to its event
  double worst_restore = 0; // s from the view coming back to the restore
  // The lowest of each measure against its reference over the untampered frames: the margin left.
  double lowest_spread = 9, lowest_sharpness = 9, lowest_match = 9;
};

// Runs a scene through a detector; `accept_at` (a frame) has the engineer accept the view there.
Outcome run(const test::Scene& scene, int accept_at = -1) {
  pipelines::TamperDetector detector;
  Outcome out;
  const auto frame_time = std::chrono::nanoseconds{1'000'000'000 / scene.fps};
  for (int f = 0; f < scene.frames; ++f) {
    for (int at : scene.own_light_switches) {
      if (f == at) detector.light_switching(frame_time * (f + 2));
    }
    if (f == accept_at) detector.accept_view();
    const cv::Mat frame = scene.render(f);
    for (const auto& e : detector.process({frame.data, frame.cols, frame.rows, static_cast<int>(frame.step), f,
                                           frame_time * f})) {
      if (const auto* s = std::get_if<TamperStart>(&e)) out.starts.push_back(*s);
      if (const auto* x = std::get_if<TamperEnd>(&e)) out.ends.push_back(*x);
    }
    bool tampered = false;
    for (const auto& truth : scene.tampers) tampered |= f >= truth.first && (truth.restored < 0 || f < truth.restored + 40);
    const auto& r = detector.last_reading();
    if (!tampered && f > 0 && r.reference_spread > 0 && r.reference_sharpness > 0) {
      out.lowest_spread = std::min(out.lowest_spread, r.spread / r.reference_spread);
      out.lowest_sharpness = std::min(out.lowest_sharpness, r.sharpness / r.reference_sharpness);
      out.lowest_match = std::min(out.lowest_match, r.match);
    }
  }
  const double seconds_per_frame = 1.0 / scene.fps;
  std::vector<bool> useful(out.starts.size(), false);
  for (const auto& truth : scene.tampers) {
    for (std::size_t i = 0; i < out.starts.size(); ++i) {
      const auto& s = out.starts[i];
      const bool inside = s.frame >= truth.first && (truth.restored < 0 || s.frame <= truth.restored + 5);
      if (!inside || to_string(s.kind) != truth.kind || useful[i]) continue;
      useful[i] = true;
      ++out.caught;
      out.worst_latency = std::max(out.worst_latency, (s.frame - truth.first) * seconds_per_frame);
      for (const auto& e : out.ends) {
        if (truth.restored >= 0 && e.frame >= truth.restored) {
          out.worst_restore = std::max(out.worst_restore, (e.frame - truth.restored) * seconds_per_frame);
          break;
        }
      }
      break;
    }
  }
  for (bool u : useful) out.false_tampers += !u;
  std::printf("tamper scene %-16s tampers %zu caught %d false %d latency %.1f s restore %.1f s; untampered lows: "
              "spread %.2f sharpness %.2f match %.2f\n",
              scene.name.c_str(), scene.tampers.size(), out.caught, out.false_tampers, out.worst_latency,
              out.worst_restore, out.lowest_spread, out.lowest_sharpness, out.lowest_match);
  return out;
}

std::vector<std::string> names(const std::vector<test::Scene>& scenes, bool with_tampers) {
  std::vector<std::string> out;
  for (const auto& s : scenes) {
    if (s.tampers.empty() != with_tampers) out.push_back(s.name);
  }
  return out;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) { return test::identifier(info.param); }

}  // namespace

class EachTamper : public ::testing::TestWithParam<std::string> {};

TEST_P(EachTamper, IsCaughtWithItsKindWithinTenSecondsAndRestoredWhenTheViewComesBack) {
  const auto scene = test::scene(GetParam());
  const Outcome out = run(scene);
  EXPECT_EQ(out.caught, static_cast<int>(scene.tampers.size()));
  EXPECT_EQ(out.false_tampers, 0);
  EXPECT_LE(out.worst_latency, 10.0);
  for (const auto& truth : scene.tampers) {
    if (truth.restored < 0) {
      EXPECT_TRUE(out.ends.empty()) << "it never came back";
    } else {
      ASSERT_EQ(out.ends.size(), 1u) << "restored once";
      EXPECT_FALSE(out.ends[0].accepted);
      EXPECT_LE(out.worst_restore, 5.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tamper, EachTamper, ::testing::ValuesIn(names(test::tamper_scenes(), true)), test_name);

class NoTamper : public ::testing::TestWithParam<std::string> {};

TEST_P(NoTamper, IsRaisedInASceneWithoutOne) {
  const Outcome out = run(test::scene(GetParam()));
  EXPECT_EQ(out.starts.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Nuisances, NoTamper, ::testing::ValuesIn(names(test::tamper_scenes(), false)), test_name);
INSTANTIATE_TEST_SUITE_P(MotionScenes, NoTamper, ::testing::ValuesIn(names(test::all_scenes(), false)), test_name);
INSTANTIATE_TEST_SUITE_P(HardScenes, NoTamper, ::testing::ValuesIn(names(test::hard_scenes(), false)), test_name);

TEST(Tamper, AnEngineerAcceptsTheNewViewAndItBecomesTheReference) {
  // The camera faces a wall from frame 150 (raised about 6 s later); the engineer accepts the wall
  // at frame 300: the tamper ends, accepted, and the wall is never raised again.
  const auto scene = test::scene("moved-wall");
  const Outcome out = run(scene, 300);
  ASSERT_EQ(out.starts.size(), 1u);
  EXPECT_EQ(out.starts[0].kind, pipelines::TamperKind::moved);
  // The first suspect frame: the view is judged averaged over a second or so.
  EXPECT_GE(out.starts[0].began_frame, 150);
  EXPECT_LE(out.starts[0].began_frame, 170);
  ASSERT_EQ(out.ends.size(), 1u);
  EXPECT_TRUE(out.ends[0].accepted);
  EXPECT_EQ(out.ends[0].frame, 300);
}

TEST(Tamper, TheDevicesOwnLightIsNeitherJudgedNorLearnt) {
  pipelines::TamperDetector detector;
  const auto scene = test::scene("walk");
  const auto frame_time = 100ms;
  for (int f = 0; f < 60; ++f) {
    const cv::Mat frame = scene.render(f);
    detector.process({frame.data, frame.cols, frame.rows, static_cast<int>(frame.step), f, frame_time * f});
  }
  // The light is announced; a black frame inside its window changes nothing, and is not learnt.
  detector.light_switching(frame_time * 62);
  const cv::Mat black(240, 320, CV_8U, cv::Scalar(0));
  detector.process({black.data, 320, 240, 320, 61, frame_time * 61});
  EXPECT_FALSE(detector.last_reading().suspect.has_value());
  const cv::Mat frame = scene.render(0);
  detector.process({frame.data, frame.cols, frame.rows, static_cast<int>(frame.step), 63, frame_time * 63});
  EXPECT_GT(detector.last_reading().match, 0.9);
  EXPECT_FALSE(detector.tampered());
}

namespace {

// The real clip (vtest.avi, pedestrians in a precinct, 10 fps), untouched and with each tamper done
// to it from frame 300 (30 s in).
const std::vector<cv::Mat>& precinct() {
  static const std::vector<cv::Mat> frames = test::read_video("/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  return frames;
}

test::Scene precinct_scene(const std::string& name, std::function<cv::Mat(cv::Mat, int)> tamper,
                           std::vector<test::TamperTruth> truth) {
  const auto& frames = precinct();
  return test::Scene{name, static_cast<int>(frames.size()), 10, {}, {},
                     [&frames, tamper](int f) { return tamper(frames[static_cast<std::size_t>(f)].clone(), f); },
                     std::move(truth)};
}

}  // namespace

TEST(TamperOnTheRealClip, EachKindIsCaughtAndTheUntouchedClipRaisesNothing) {
  ASSERT_GT(precinct().size(), 600u) << "vtest.avi could not be read";
  const int at = 300;
  EXPECT_EQ(run(precinct_scene("precinct", [](cv::Mat f, int) { return f; }, {})).starts.size(), 0u);

  const auto covered = run(precinct_scene("precinct-covered", [&](cv::Mat f, int i) {
    if (i >= at && i < at + 200) f.setTo(cv::Scalar(18));
    return f;
  }, {{"covered", at, at + 200}}));
  EXPECT_EQ(covered.caught, 1);
  EXPECT_EQ(covered.false_tampers, 0);
  EXPECT_LE(covered.worst_latency, 10.0);
  EXPECT_EQ(covered.ends.size(), 1u);

  const auto blurred = run(precinct_scene("precinct-defocused", [&](cv::Mat f, int i) {
    if (i >= at) cv::GaussianBlur(f, f, {0, 0}, 4);
    return f;
  }, {{"defocused", at, -1}}));
  EXPECT_EQ(blurred.caught, 1);
  EXPECT_EQ(blurred.false_tampers, 0);
  EXPECT_LE(blurred.worst_latency, 10.0);

  // Pushed round: the camera now sees the top left of its old view, magnified (another part of
  // the precinct, at another scale).
  const auto moved = run(precinct_scene("precinct-moved", [&](cv::Mat f, int i) {
    if (i < at) return f;
    cv::Mat out;
    cv::resize(f(cv::Rect(0, 0, 160, 120)), out, f.size(), 0, 0, cv::INTER_LINEAR);
    return out;
  }, {{"moved", at, -1}}));
  EXPECT_EQ(moved.caught, 1);
  EXPECT_EQ(moved.false_tampers, 0);
  EXPECT_LE(moved.worst_latency, 10.0);
}
