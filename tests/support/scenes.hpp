#pragma once
// Synthetic CCTV scenes with known ground truth, one per condition that makes people switch motion
// detection off (and the ones it must still catch). Frames are greyscale, 320x240 (the analysis
// size), at 10 fps; a scene is deterministic for its seed.

#include <opencv2/core.hpp>

#include <functional>
#include <string>
#include <vector>

namespace assure::test {

struct Scene {
  std::string name;
  int frames = 0;
  int fps = 10;
  // Intervals [first, last] of frames in which an intruder is in view: each should be one event.
  std::vector<std::pair<int, int>> intruders;
  // Frames at which the device's own light switches (the pipeline is told), if any.
  std::vector<int> own_light_switches;
  std::function<cv::Mat(int frame)> render;
};

std::vector<Scene> all_scenes();
// A plain day scene in which a person walks across the path during each of `visits` (frame
// intervals), for tests of what happens around events (clips, tails, splits).
Scene visits(std::string name, int frames, std::vector<std::pair<int, int>> visits);
Scene scene(const std::string& name);

}  // namespace assure::test

namespace assure::test {
// Encodes a scene to an H.264 MP4 with GStreamer (appsrc ! x264enc ! mp4mux), so the scenes can
// go through the real decoding pipeline. Returns an empty string, or what went wrong.
std::string write_video(const Scene& scene, const std::string& path);
}  // namespace assure::test
