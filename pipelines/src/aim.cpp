#include "assure/pipelines/aim.hpp"

#include <algorithm>
#include <cmath>
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
  // J. Immerkaer, "Fast noise variance estimation" (1996): sigma = sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I * N|.
  static const cv::Mat kernel = (cv::Mat_<float>(3, 3) << 1, -2, 1, -2, 4, -2, 1, -2, 1);
  cv::Mat response;
  cv::filter2D(image, response, CV_32F, kernel, {-1, -1}, 0, cv::BORDER_REPLICATE);
  const cv::Rect inner(1, 1, frame.width - 2, frame.height - 2);
  const double sum = cv::norm(response(inner), cv::NORM_L1);
  m.noise = std::sqrt(std::numbers::pi / 2.0) * sum / (6.0 * inner.width * inner.height);
  cv::Mat laplacian;
  cv::Laplacian(image, laplacian, CV_32F);
  cv::meanStdDev(laplacian(inner), mean, deviation);
  m.focus = deviation[0] * deviation[0];
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
