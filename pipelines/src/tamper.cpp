#include "assure/pipelines/tamper.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "assure/pipelines/aim.hpp"

namespace assure::pipelines {
namespace {

constexpr int kShake = 3;  // pixels of the coarse copy searched either way (12 at 320, 48 at 1080p)
// The reference's fine structure (the template searched for) follows the reference this often:
// the reference moves by a sixtieth of the way a second, and blurring it costs as much as a look.
constexpr auto kTemplateEvery = std::chrono::seconds{1};

// Bounds for a suspect frame, and the (wider) ones a view must be back inside to be normal again.
constexpr double kCoveredSpread = 0.25, kNormalSpread = 0.45;
constexpr double kBlurredSharpness = 0.4, kNormalSharpness = 0.6;
constexpr double kMovedMatch = 0.4, kNormalMatch = 0.6;
constexpr double kRecent = 1.0;  // s over which the view is averaged
constexpr auto kSuspicionGap = std::chrono::milliseconds{1500};  // normal this long: suspicion is over
// Tamper is judged in seconds, on a view averaged over one: five looks a second are plenty, and
// at the analysis's 10 fps they halve what the detector costs (frames between are not looked at).
constexpr auto kLookEvery = std::chrono::milliseconds{190};

// The best normalised correlation coefficient (OpenCV's TM_CCOEFF_NORMED) of `templ` at any
// place in `image` (a few pixels larger each way), computed directly: for so few places it costs
// less than matchTemplate's Fourier transform (with the changes beside it, the tamper bench went
// from 143 to 97.5 us a frame). The window's sums come from integral
// images; the products in eight lanes, which the compiler turns into vector instructions. A place
// with no variation scores 0.
double best_match(const cv::Mat& image, const cv::Mat& templ, cv::Mat& sums, cv::Mat& squares, cv::Mat& centred) {
  const int places_x = image.cols - templ.cols + 1, places_y = image.rows - templ.rows + 1;
  if (places_x < 1 || places_y < 1) return 0;
  const double n = static_cast<double>(templ.total());
  templ.convertTo(centred, CV_32F, 1.0, -cv::mean(templ)[0]);
  const double templ_squares = centred.dot(centred);  // sum of (T - mean)^2
  if (templ_squares <= 0) return 0;
  cv::integral(image, sums, squares, CV_64F, CV_64F);
  auto window = [&](const cv::Mat& integral, int x, int y) {
    return integral.at<double>(y + templ.rows, x + templ.cols) - integral.at<double>(y, x + templ.cols) -
           integral.at<double>(y + templ.rows, x) + integral.at<double>(y, x);
  };
  constexpr int kLanes = 8;
  double best = -1;
  for (int py = 0; py < places_y; ++py) {
    for (int px = 0; px < places_x; ++px) {
      double product = 0;  // sum of T' I over the window (T' sums to 0, so I's mean drops out)
      for (int y = 0; y < templ.rows; ++y) {
        const float* t = centred.ptr<float>(y);
        const float* p = image.ptr<float>(py + y) + px;
        float lanes[kLanes] = {};
        int x = 0;
        for (; x + kLanes <= templ.cols; x += kLanes) {
          for (int k = 0; k < kLanes; ++k) lanes[k] += t[x + k] * p[x + k];
        }
        float row = 0;
        for (; x < templ.cols; ++x) row += t[x] * p[x];
        for (const float lane : lanes) row += lane;
        product += row;
      }
      const double sum = window(sums, px, py);
      const double variance = window(squares, px, py) - sum * sum / n;
      const double denominator = std::sqrt(std::max(0.0, variance) * templ_squares);
      const double score = denominator > 1e-9 * n ? std::clamp(product / denominator, -1.0, 1.0) : 0.0;
      best = std::max(best, score);
    }
  }
  return best;
}

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
  cv::Mat coarse, mid, fine, blurred;
  cv::Mat match_sums, match_squares, match_template;  // best_match()'s
  // The frame at half its size (mid) and a quarter (coarse): exact halves are OpenCV's fast path
  // (a 320x180 frame to 160x120 by area took 200 us, to 160x90 3 us).
  cv::Mat reference;       // CV_32F, coarse, learnt slowly
  cv::Mat reference_fine;  // its fine structure, inner part (the template searched for)
  double template_deviation = 0;
  std::chrono::nanoseconds template_pts{-1};
  cv::Mat recent;          // CV_32F, coarse, the last second or so
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
    const cv::Rect inner(kShake, kShake, full.cols - 2 * kShake, full.rows - 2 * kShake);
    if (inner.width < 1 || inner.height < 1) {
      reference_fine.release();
      return;
    }
    full(inner).copyTo(reference_fine);
    cv::Scalar mean, deviation;
    cv::meanStdDev(reference_fine, mean, deviation);
    template_deviation = deviation[0];
    template_pts = last_pts;
  }

  // The frame's measures. Spread and match are taken on `recent`, the coarse view averaged over
  // about a second, so rain, snow, noise and passers-by weigh little; sharpness on the frame itself.
  void measure(const cv::Mat& frame, double dt) {
    cv::resize(frame, mid, {std::max(1, frame.cols / 2), std::max(1, frame.rows / 2)}, 0, 0, cv::INTER_AREA);
    cv::resize(mid, coarse, {std::max(1, mid.cols / 2), std::max(1, mid.rows / 2)}, 0, 0, cv::INTER_AREA);
    coarse.convertTo(coarse, CV_32F);
    if (recent.empty() || recent.size() != coarse.size()) coarse.copyTo(recent);
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
    // A reference with no structure cannot be matched.
    if (!reference_fine.empty() && template_deviation > 0.5 && reference.size() == recent.size()) {
      fine_structure(recent, fine);
      reading.match = best_match(fine, reference_fine, match_sums, match_squares, match_template);
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
    if (template_pts.count() < 0 || last_pts < template_pts || last_pts - template_pts >= kTemplateEvery) {
      refresh_template();
    }
  }

  std::vector<TamperEvent> process(const cv::Mat& frame, std::int64_t index, std::chrono::nanoseconds pts) {
    std::vector<TamperEvent> out;
    if (last_pts.count() >= 0 && pts >= last_pts && pts - last_pts < kLookEvery) return out;
    const double dt = last_pts.count() < 0 ? 0.1
                                           : std::clamp(std::chrono::duration<double>(pts - last_pts).count(), 0.001, 2.0);
    last_pts = pts;
    measure(frame, dt);
    reading.suspect.reset();
    if (reference.empty() || accept || reference.size() != coarse.size()) {  // first, accepted, or a new size
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
