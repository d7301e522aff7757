#pragma once
// Camera tamper, on the frames the motion detector already looks at (OpenCV inside; none here).
//
// The detector keeps a reference of the scene that it learns slowly (a minute by default) while the
// view looks normal, and compares the frame with it five times a second (frames in between are
// not looked at) on three measures, each blind to a change of brightness or gain:
//   spread     the standard deviation of a coarse copy of the frame (a quarter of its size: 80x60
//              of a 320x240 frame): a hand, tape, a bag or a torch in the lens leaves the picture
//              nearly uniform, dark or bright
//   sharpness  edge energy of a copy at half the size (the Laplacian's, less the share of the
//              sensor's noise measured in the same frame) over its brightness: paint, a smeared
//              lens or a focus ring turned loses the edges while the coarse scene stays
//   match      normalised correlation of the coarse frame's fine structure (its difference from
//              a blurred copy) with the reference's, searched over a few pixels of shake: a camera
//              pushed round to face a wall or the sky no longer matches its reference
// A frame is suspect of a kind when its measure falls past its bound (covered before defocused
// before moved); a tamper is raised once suspicion has lasted `confirm` (a person standing close
// in front of the lens for a few seconds is motion, not tamper) and restored once the view has
// looked normal for `restore`. An engineer can accept the current view as the new reference (a
// cleaned dome, a camera re-aimed on purpose), which also restores a tamper in progress.
//
// What is never tamper: night falling (slow: the reference follows), a light switching (a sudden
// gain change leaves spread, sharpness and match where they were; the device's own light is
// announced and skipped), the IR day/night switch (a tone remap), rain, snow, shake (searched
// over), heavy sensor noise (coarse scales average it away).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "assure/pipelines/motion.hpp"

namespace assure::pipelines {

enum class TamperKind { covered, defocused, moved };
std::string_view to_string(TamperKind kind);  // "covered", "defocused", "moved"

struct TamperSettings {
  std::chrono::milliseconds confirm{6000};   // suspicion must last this long to raise a tamper
  std::chrono::milliseconds restore{3000};   // a normal view for this long restores it
  std::chrono::milliseconds reference_time{60000};  // how fast the reference follows the scene
};

struct TamperStart {
  TamperKind kind = TamperKind::covered;
  std::int64_t began_frame = 0;  // the first suspect frame (the view is judged over about a second)
  std::chrono::nanoseconds began_pts{0};
  std::int64_t frame = 0;  // the frame that raised it (latency: pts - began_pts, about `confirm`)
  std::chrono::nanoseconds pts{0};
};
struct TamperEnd {
  TamperKind kind = TamperKind::covered;
  std::int64_t frame = 0;
  std::chrono::nanoseconds pts{0};
  bool accepted = false;  // the engineer accepted the new view rather than the old one coming back
};
using TamperEvent = std::variant<TamperStart, TamperEnd>;

// One frame's measures, for tests, tuning and the engineer's aim readings.
struct TamperReading {
  double spread = 0, reference_spread = 0;
  double sharpness = 0, reference_sharpness = 0;
  double match = 1;
  std::optional<TamperKind> suspect;
};

class TamperDetector {
 public:
  explicit TamperDetector(TamperSettings settings = {});
  ~TamperDetector();
  TamperDetector(TamperDetector&&) noexcept;
  TamperDetector& operator=(TamperDetector&&) noexcept;

  std::vector<TamperEvent> process(const GrayFrame& frame);
  // A light the device controls is switching: frames until `until` (stream time) are neither
  // judged nor learnt.
  void light_switching(std::chrono::nanoseconds until);
  // The next frame becomes the reference; a tamper in progress ends (accepted) with it.
  void accept_view();
  bool tampered() const;
  const TamperReading& last_reading() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace assure::pipelines
