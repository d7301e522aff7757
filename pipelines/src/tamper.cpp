#include "assure/pipelines/tamper.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "assure/pipelines/aim.hpp"

namespace assure::pipelines {
namespace {

const cv::Size kCoarse(80, 60);
const cv::Size kMid(160, 120);
constexpr int kShake = 3;  // pixels of the coarse copy searched either way (12 at 320, 48 at 1080p)

// Bounds for a suspect frame, and the (wider) ones a view must be back inside to be normal again.
constexpr double kCoveredSpread = 0.25, kNormalSpread = 0.45;
constexpr double kBlurredSharpness = 0.4, kNormalSharpness = 0.6;
constexpr double kMovedMatch = 0.4, kNormalMatch = 0.6;
constexpr double kRecent = 1.0;  // s over which the view is averaged
constexpr auto kSuspicionGap = std::chrono::milliseconds{1500};  // normal this long: suspicion is over
// Tamper is judged in seconds, on a view averaged over one: five looks a second are plenty, and
// at the analysis's 10 fps they halve what the detector costs (frames between are not looked at).
constexpr auto kLookEvery = std::chrono::milliseconds{190};

}  // namespace

std::string_view to_string(TamperKind kind) {
  switch (kind) {
    case TamperKind::covered: return "covered";
    case TamperKind::defocused: return "defocused";
    case TamperKind::moved: return "moved";
  }
  return "unknown";
}

struct TamperDetector::Impl {
  TamperSettings settings;
  cv::Mat coarse, mid, fine, blurred, scores;
  cv::Mat reference;       // CV_32F at kCoarse, learnt slowly
  cv::Mat reference_fine;  // its fine structure, inner part (the template searched for)
  cv::Mat recent;          // CV_32F at kCoarse, the last second or so
  double reference_spread = 0, reference_sharpness = 0;
  double reference_edges = 0;  // the reference's edge energy, in the Laplacian's units
  double noise_energy = 0;     // the noise's share of this frame's Laplacian energy
  double edges = 0;            // this frame's edge energy: the Laplacian's less the noise's
  std::chrono::nanoseconds last_pts{-1};
  std::chrono::nanoseconds light_until{-1};
  bool accept = false;
  TamperReading reading;

  // Suspicion and state
  std::optional<std::chrono::nanoseconds> suspect_since, normal_since;
  std::chrono::nanoseconds last_suspect{0};
  std::int64_t suspect_frame = 0;
  std::array<int, 3> suspect_counts{};
  std::optional<TamperKind> tampered;

  explicit Impl(TamperSettings s) : settings(s) {}

  void fine_structure(const cv::Mat& image, cv::Mat& out) {
    cv::GaussianBlur(image, blurred, {0, 0}, 2.5, 2.5, cv::BORDER_REPLICATE);
    cv::subtract(image, blurred, out);
  }

  void take_reference() {
    coarse.copyTo(reference);
    coarse.copyTo(recent);
    cv::Scalar mean, deviation;
    cv::meanStdDev(reference, mean, deviation);
    reading.spread = reference_spread = deviation[0];
    reading.sharpness = std::sqrt(edges) / (reading.spread + 2.0);
    reference_sharpness = reading.sharpness;
    reference_edges = edges;
    refresh_template();
  }



  void refresh_template() {
    cv::Mat full;
    fine_structure(reference, full);
    full(cv::Rect(kShake, kShake, kCoarse.width - 2 * kShake, kCoarse.height - 2 * kShake)).copyTo(reference_fine);
  }

  // The frame's measures. Spread and match are taken on `recent`, the coarse view averaged over
  // about a second, so rain, snow, noise and passers-by weigh little; sharpness on the frame itself.
  void measure(const cv::Mat& frame, double dt) {
    cv::resize(frame, mid, kMid, 0, 0, cv::INTER_AREA);
    cv::resize(mid, coarse, kCoarse, 0, 0, cv::INTER_AREA);
    coarse.convertTo(coarse, CV_32F);
    if (recent.empty()) coarse.copyTo(recent);
    else cv::accumulateWeighted(coarse, recent, 1.0 - std::exp(-dt / kRecent));
    cv::Scalar mean, deviation;
    cv::meanStdDev(recent, mean, deviation);
    reading.spread = deviation[0];
    // Sharpness: the Laplacian's energy (a blurred edge loses it as the cube of the blur) less what
    // the sensor's noise puts there (20 sigma^2 for this kernel), against the coarse spread, so that
    // neither gain nor offset (night, a light, the IR switch's tone remap) changes it.
    const ViewMeasure view = measure_view(GrayFrame{mid.data, mid.cols, mid.rows, static_cast<int>(mid.step), 0, {}});
    noise_energy = 20.0 * view.noise * view.noise;
    edges = std::max(0.0, view.focus - noise_energy);
    reading.sharpness = std::sqrt(edges) / (reading.spread + 2.0);
    reading.match = 1;
    if (!reference_fine.empty()) {
      cv::Scalar m, template_deviation;
      cv::meanStdDev(reference_fine, m, template_deviation);
      if (template_deviation[0] > 0.5) {  // a reference with no structure cannot be matched
        fine_structure(recent, fine);
        cv::matchTemplate(fine, reference_fine, scores, cv::TM_CCOEFF_NORMED);
        double best = 0;
        cv::minMaxLoc(scores, nullptr, &best);
        reading.match = best;
      }
    }
    reading.reference_spread = reference_spread;
    reading.reference_sharpness = reference_sharpness;
  }

  std::optional<TamperKind> judge() const {
    if (reading.spread < kCoveredSpread * reference_spread) return TamperKind::covered;
    // Lost edges count only where the reference's edges would stand out of this frame's noise.
    if (reading.sharpness < kBlurredSharpness * reference_sharpness && reference_edges > 2.0 * noise_energy) {
      return TamperKind::defocused;
    }
    if (reading.match < kMovedMatch) return TamperKind::moved;
    return std::nullopt;
  }

  bool normal() const {
    return reading.spread >= kNormalSpread * reference_spread &&
           reading.sharpness >= kNormalSharpness * reference_sharpness && reading.match >= kNormalMatch;
  }

  void learn(double dt) {
    const double tau = std::max(1.0, std::chrono::duration<double>(settings.reference_time).count());
    const double alpha = 1.0 - std::exp(-dt / tau);
    cv::accumulateWeighted(recent, reference, alpha);
    cv::Scalar mean, deviation;
    cv::meanStdDev(reference, mean, deviation);
    reference_spread = deviation[0];
    reference_sharpness += alpha * (reading.sharpness - reference_sharpness);
    reference_edges += alpha * (edges - reference_edges);
    refresh_template();
  }

  std::vector<TamperEvent> process(const cv::Mat& frame, std::int64_t index, std::chrono::nanoseconds pts) {
    std::vector<TamperEvent> out;
    if (last_pts.count() >= 0 && pts >= last_pts && pts - last_pts < kLookEvery) return out;
    const double dt = last_pts.count() < 0 ? 0.1
                                           : std::clamp(std::chrono::duration<double>(pts - last_pts).count(), 0.001, 2.0);
    last_pts = pts;
    measure(frame, dt);
    reading.suspect.reset();
    if (reference.empty() || accept) {
      if (accept && tampered) out.push_back(TamperEnd{*tampered, index, pts, true});
      accept = false;
      tampered.reset();
      suspect_since.reset();
      normal_since.reset();
      take_reference();
      reading.reference_spread = reference_spread;
      reading.reference_sharpness = reference_sharpness;
      return out;
    }
    if (light_until.count() >= 0 && pts <= light_until) return out;  // the device's own light

    reading.suspect = judge();
    if (tampered) {
      if (!normal()) {
        normal_since.reset();
      } else if (!normal_since) {
        normal_since = pts;
      } else if (pts - *normal_since >= settings.restore) {
        out.push_back(TamperEnd{*tampered, index, pts, false});
        tampered.reset();
        suspect_since.reset();
        normal_since.reset();
      }
      return out;
    }
    if (reading.suspect) {
      if (!suspect_since) {
        suspect_since = pts;
        suspect_frame = index;
        suspect_counts = {};
      }
      ++suspect_counts[static_cast<std::size_t>(*reading.suspect)];
      last_suspect = pts;
      if (pts - *suspect_since >= settings.confirm) {
        const auto most = std::max_element(suspect_counts.begin(), suspect_counts.end()) - suspect_counts.begin();
        tampered = static_cast<TamperKind>(most);
        out.push_back(TamperStart{*tampered, suspect_frame, *suspect_since, index, pts});
      }
      return out;  // nothing learnt from a suspect view
    }
    if (suspect_since && pts - last_suspect <= kSuspicionGap) return out;
    suspect_since.reset();
    if (normal()) learn(dt);
    return out;
  }
};

TamperDetector::TamperDetector(TamperSettings settings) : impl_(std::make_unique<Impl>(settings)) {}
TamperDetector::~TamperDetector() = default;
TamperDetector::TamperDetector(TamperDetector&&) noexcept = default;
TamperDetector& TamperDetector::operator=(TamperDetector&&) noexcept = default;

std::vector<TamperEvent> TamperDetector::process(const GrayFrame& frame) {
  const cv::Mat image(frame.height, frame.width, CV_8U, const_cast<std::uint8_t*>(frame.data),
                      static_cast<std::size_t>(frame.stride));
  return impl_->process(image, frame.index, frame.pts);
}

void TamperDetector::light_switching(std::chrono::nanoseconds until) { impl_->light_until = until; }
void TamperDetector::accept_view() { impl_->accept = true; }
bool TamperDetector::tampered() const { return impl_->tampered.has_value(); }
const TamperReading& TamperDetector::last_reading() const { return impl_->reading; }

}  // namespace assure::pipelines
