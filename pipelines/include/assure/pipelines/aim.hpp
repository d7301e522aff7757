#pragma once
// Aiming a camera: what an engineer on a ladder needs to see, once a second, while turning the
// camera and setting the sensitivity. From the frames the motion detector already looks at:
//   brightness  mean grey level 0..255 (under 40: too dark for the detector by day; over 220: glare)
//   contrast    standard deviation of the grey levels (a lens cap or fog shows near 0)
//   noise       the sensor's noise as a standard deviation in grey levels (Immerkaer's estimate:
//               the image's response to a kernel that cancels edges and smooth gradients)
//   focus       variance of the Laplacian; higher is sharper. Only comparable on one scene: turn the
//               focus ring for the highest number.
//   zones       per motion zone, the largest fraction seen moving in the second (after the detector's
//               filters), so walking through a zone shows whether the camera sees it
// Pure: frames in, readings out; the capture decides when to ask.

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "assure/pipelines/motion.hpp"

namespace assure::pipelines {

struct ViewMeasure {
  double brightness = 0;
  double contrast = 0;
  double noise = 0;
  double focus = 0;
};
ViewMeasure measure_view(const GrayFrame& frame);

struct AimReading {
  std::int64_t frame = 0;           // the newest frame in the reading
  std::chrono::nanoseconds pts{0};  // its stream time
  int frames = 0;                   // analysed in the period
  ViewMeasure view;                 // of the newest frame
  std::vector<double> zones;        // peak moving fraction per zone over the period
  double threshold = 0;             // the detector's threshold at the newest frame, grey levels
  bool motion = false;              // the detector saw motion in the period
  bool light_change = false;        // it took a change in the period for a light
};

// Gathers a reading over `period` of stream time from each analysed frame.
class AimMeter {
 public:
  explicit AimMeter(std::chrono::nanoseconds period = std::chrono::seconds{1}) : period_(period) {}
  // One analysed frame and what the detector made of it; a reading when the period is over.
  std::optional<AimReading> add(const GrayFrame& frame, const FrameVerdict& verdict, const std::vector<double>& zones);
  void reset() { started_ = false; }

 private:
  std::chrono::nanoseconds period_;
  bool started_ = false;
  std::chrono::nanoseconds since_{0};
  AimReading reading_;
};

}  // namespace assure::pipelines
