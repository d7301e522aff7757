#pragma once
// Synthetic CCTV scenes with known ground truth, one per condition that makes people switch motion
// detection off (and the ones it must still catch). Frames are greyscale, 320x240 (the analysis
// size), at 10 fps; a scene is deterministic for its seed.

#include <opencv2/core.hpp>

#include <functional>
#include <string>
#include <vector>

namespace assure::test {

// A tamper in a scene: its kind ("covered", "defocused", "moved") from frame `first` until the
// view comes back at frame `restored` (-1: it never does).
struct TamperTruth {
  std::string kind;
  int first = 0;
  int restored = -1;
};

struct Scene {
  std::string name;
  int frames = 0;
  int fps = 10;
  // Intervals [first, last] of frames in which an intruder is in view: each should be one event.
  std::vector<std::pair<int, int>> intruders;
  // Frames at which the device's own light switches (the pipeline is told), if any.
  std::vector<int> own_light_switches;
  std::function<cv::Mat(int frame)> render;
  std::vector<TamperTruth> tampers;  // none: any tamper raised is a false one
};

// The conditions one at a time (scenes.cpp).
std::vector<Scene> all_scenes();
// Conditions combined and moving local light (hard_scenes.cpp).
std::vector<Scene> hard_scenes();
// Each kind of tamper, and the nuisances that must never look like one (tamper_scenes.cpp).
std::vector<Scene> tamper_scenes();
// A plain day scene in which a person walks across the path during each of `visits` (frame
// intervals), for tests of what happens around events (clips, tails, splits).
Scene visits(std::string name, int frames, std::vector<std::pair<int, int>> visits);
Scene scene(const std::string& name);
// A scene's name as a test name can carry it: "night-noise" -> "night_noise".
inline std::string identifier(std::string name) {
  for (auto& c : name) c = c == '-' ? '_' : c;
  return name;
}

}  // namespace assure::test

namespace assure::test {
// Decodes a real video (all its frames, greyscale, scaled to 320x240) with GStreamer; empty when it
// cannot be read.
std::vector<cv::Mat> read_video(const std::string& path);
// Encodes a scene to an H.264 MP4 with GStreamer (appsrc ! x264enc ! mp4mux), so the scenes can
// go through the real decoding pipeline. Returns an empty string, or what went wrong.
std::string write_video(const Scene& scene, const std::string& path);
}  // namespace assure::test
