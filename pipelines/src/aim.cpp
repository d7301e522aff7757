#include "assure/pipelines/aim.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace assure::pipelines {

ViewMeasure measure_view(const GrayFrame& frame) {
  ViewMeasure m;
  if (frame.data == nullptr || frame.width < 3 || frame.height < 3) return m;
  const cv::Mat image(frame.height, frame.width, CV_8U, const_cast<std::uint8_t*>(frame.data),
                      static_cast<std::size_t>(frame.stride));
  cv::Scalar mean, deviation;
  cv::meanStdDev(image, mean, deviation);
  m.brightness = mean[0];
  m.contrast = deviation[0];
  // Over the inner pixels, in one pass and in integers (exact: what filter2D and Laplacian give in
  // float for 8-bit input, for under half their cost: 63-70 us against 109-160 for the whole
  // measure at 160x120, three runs each):
  //   noise  J. Immerkaer, "Fast noise variance estimation" (1996): sigma = sqrt(pi/2) / (6 (W-2)(H-2))
  //          * sum |I * N|, N = [1 -2 1; -2 4 -2; 1 -2 1]
  //   focus  the variance of I * [0 1 0; 1 -4 1; 0 1 0], the Laplacian
  std::int64_t noise_sum = 0, laplacian_sum = 0, laplacian_squares = 0;
  for (int y = 1; y + 1 < frame.height; ++y) {
    const std::uint8_t* above = image.ptr<std::uint8_t>(y - 1);
    const std::uint8_t* row = image.ptr<std::uint8_t>(y);
    const std::uint8_t* below = image.ptr<std::uint8_t>(y + 1);
    std::int32_t row_noise = 0, row_laplacian = 0;
    std::int64_t row_squares = 0;
    for (int x = 1; x + 1 < frame.width; ++x) {
      const int cross = above[x] + row[x - 1] + row[x + 1] + below[x];
      const int corners = above[x - 1] + above[x + 1] + below[x - 1] + below[x + 1];
      const int centre = row[x];
      const int laplacian = cross - 4 * centre;
      row_noise += std::abs(corners - 2 * cross + 4 * centre);
      row_laplacian += laplacian;
      row_squares += laplacian * laplacian;
    }
    noise_sum += row_noise;
    laplacian_sum += row_laplacian;
    laplacian_squares += row_squares;
  }
  const double inner = static_cast<double>(frame.width - 2) * (frame.height - 2);
  m.noise = std::sqrt(std::numbers::pi / 2.0) * static_cast<double>(noise_sum) / (6.0 * inner);
  const double laplacian_mean = static_cast<double>(laplacian_sum) / inner;
  m.focus = std::max(0.0, static_cast<double>(laplacian_squares) / inner - laplacian_mean * laplacian_mean);
  return m;
}

std::optional<AimReading> AimMeter::add(const GrayFrame& frame, const FrameVerdict& verdict,
                                        const std::vector<double>& zones) {
  if (!started_ || frame.pts < since_) {  // the first frame, or the stream started again
    started_ = true;
    since_ = frame.pts;
    reading_ = AimReading{};
  }
  ++reading_.frames;
  reading_.frame = frame.index;
  reading_.pts = frame.pts;
  reading_.threshold = verdict.threshold;
  reading_.motion = reading_.motion || verdict.motion;
  reading_.light_change = reading_.light_change || verdict.light_change;
  if (reading_.zones.size() != zones.size()) reading_.zones.assign(zones.size(), 0.0);
  for (std::size_t i = 0; i < zones.size(); ++i) reading_.zones[i] = std::max(reading_.zones[i], zones[i]);
  if (frame.pts - since_ < period_) return std::nullopt;
  reading_.view = measure_view(frame);
  AimReading done = std::move(reading_);
  reading_ = AimReading{};
  since_ = frame.pts;
  return done;
}

}  // namespace assure::pipelines
