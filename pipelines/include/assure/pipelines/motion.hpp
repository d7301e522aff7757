#pragma once
// Motion detection on downscaled greyscale frames (OpenCV inside; no OpenCV in this header).
//
// Per frame: a background model compared against a shake-tolerant band (the 3x3 minimum and maximum
// of the background, so a pole swaying a pixel changes nothing), with global gain compensated
// (clouds, dusk), a threshold that rises with measured sensor noise (night), speckle removal and a
// minimum object size (rain, snow), a map of places that flicker (trees, bushes, water) that are
// left out, and frames where much of the scene changes at once treated as a light change (a
// security light, headlights, the IR switch), never as motion. The background learns slowly where
// something is, so a person who stops and stands still stays one event.
//
// Over frames: motion must last min_duration to start an event, quiet for event_gap ends it, and
// max_event splits a long one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "assure/base/polygon.hpp"

namespace assure::pipelines {

struct Box {  // normalised 0..1
  double x = 0, y = 0, w = 0, h = 0;
  bool empty() const { return w <= 0 || h <= 0; }
};

struct MotionSettings {
  std::vector<Polygon> zones;       // where to look; empty: the whole frame
  std::vector<Polygon> exclusions;  // never look here (a road, a neighbour's window)
  int sensitivity = 5;              // 1 (only strong contrast) .. 10 (faint changes)
  double min_area = 0.002;          // smallest object, as a fraction of the frame
  std::chrono::milliseconds min_duration{300};  // motion must last this long to raise an event
  std::chrono::milliseconds event_gap{5000};    // quiet for less than this: still the same event
  std::chrono::milliseconds max_event{300000};  // a longer event is split
  std::chrono::milliseconds update_every{1000}; // how often an active event reports its box
  std::chrono::milliseconds background_time{4000};  // how fast the background follows the scene
  bool grey_snapshots = true;  // false: the caller makes its own (the capture's colour ones)
};

// A greyscale frame borrowed from the pipeline.
struct GrayFrame {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int stride = 0;
  std::int64_t index = 0;              // 0-based frame number in the stream
  std::chrono::nanoseconds pts{0};     // stream time
};

struct MotionStart {
  std::int64_t start_frame = 0;  // first frame with motion
  std::chrono::nanoseconds start_pts{0};
  std::int64_t raised_frame = 0;  // frame at which the event was raised (onset latency)
  Box box;
  std::vector<std::uint8_t> snapshot_jpeg;  // the raising frame with the box drawn (JPEG)
};
struct MotionUpdate {
  std::int64_t frame = 0;
  std::chrono::nanoseconds pts{0};
  Box box;
};
struct MotionEnd {
  std::int64_t start_frame = 0;
  std::int64_t end_frame = 0;  // last frame with motion
  std::chrono::nanoseconds start_pts{0};
  std::chrono::nanoseconds end_pts{0};
  Box box;  // everything the event covered
  bool split = false;  // ended by max_event, and a new one starts at once
};
using MotionEvent = std::variant<MotionStart, MotionUpdate, MotionEnd>;

// What one frame showed, for tests and tuning.
struct FrameVerdict {
  bool motion = false;
  bool light_change = false;  // much of the scene changed at once: not motion
  Box box;
  double changed_fraction = 0;
  double threshold = 0;
};

class MotionDetector {
 public:
  explicit MotionDetector(MotionSettings settings);
  ~MotionDetector();
  MotionDetector(MotionDetector&&) noexcept;
  MotionDetector& operator=(MotionDetector&&) noexcept;

  std::vector<MotionEvent> process(const GrayFrame& frame);
  // The end of the stream: ends an event in progress.
  std::vector<MotionEvent> flush();
  // A light the device controls is switching: changes until `until` (stream time) are the light.
  void light_switching(std::chrono::nanoseconds until);
  // New settings from the next frame on, keeping what has been learnt (the background, the places
  // that flicker) and an event in progress; the grey_snapshots choice stays as it was.
  void retune(MotionSettings settings);

  const FrameVerdict& last_verdict() const;
  // For each zone (one for the whole frame when there are none), the fraction of it that the last
  // frame showed changing past the threshold, flicker and speckle filters (before the smallest-object
  // rule): what an engineer aiming the camera and setting the sensitivity needs to see.
  std::vector<double> zone_activity() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace assure::pipelines
