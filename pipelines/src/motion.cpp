#include "assure/pipelines/motion.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "snapshot.hpp"

namespace assure::pipelines {
namespace {

// A pixel whose changed/unchanged state flips this often (EMA of flips per frame) is foliage,
// water or a flag, not an intruder: its flips are what betray it, a person standing still flips little.
constexpr double kFlickerRate = 0.12;
// This much of the watched area changing in one frame is a light, not a person walking in.
constexpr double kLightChangeFraction = 0.35;
// The log of frame over background departs from its 21 px average by less than this where only the
// light changed (a soft shadow or beam: a few hundredths); a body's edge departs by tenths.
constexpr double kSmoothLight = 0.1;

cv::Mat polygon_mask(const std::vector<Polygon>& polygons, cv::Size size) {
  cv::Mat mask = cv::Mat::zeros(size, CV_8U);
  for (const auto& polygon : polygons) {
    if (polygon.size() < 3) continue;
    std::vector<cv::Point> points;
    for (const auto& p : polygon) {
      points.emplace_back(static_cast<int>(std::lround(p.x * size.width)),
                          static_cast<int>(std::lround(p.y * size.height)));
    }
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(255));
  }
  return mask;
}

Box normalised(const cv::Rect& r, cv::Size size) {
  return Box{static_cast<double>(r.x) / size.width, static_cast<double>(r.y) / size.height,
             static_cast<double>(r.width) / size.width, static_cast<double>(r.height) / size.height};
}

Box unite(const Box& a, const Box& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  const double x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  const double x1 = std::max(a.x + a.w, b.x + b.w), y1 = std::max(a.y + a.h, b.y + b.h);
  return Box{x0, y0, x1 - x0, y1 - y0};
}

// Median of |a - b| of two 8-bit images over a mask (none: everywhere), by histogram, in one pass
// (four histograms, summed after, so that neighbouring pixels of one value do not wait on each other).
int median_abs_difference(const cv::Mat& a, const cv::Mat& b, const cv::Mat* mask) {
  int histograms[4][256] = {};
  for (int y = 0; y < a.rows; ++y) {
    const auto* p = a.ptr<std::uint8_t>(y);
    const auto* q = b.ptr<std::uint8_t>(y);
    const auto* m = mask != nullptr ? mask->ptr<std::uint8_t>(y) : nullptr;
    int x = 0;
    if (m == nullptr) {
      for (; x + 4 <= a.cols; x += 4) {
        ++histograms[0][std::abs(p[x] - q[x])];
        ++histograms[1][std::abs(p[x + 1] - q[x + 1])];
        ++histograms[2][std::abs(p[x + 2] - q[x + 2])];
        ++histograms[3][std::abs(p[x + 3] - q[x + 3])];
      }
    }
    for (; x < a.cols; ++x) {
      if (m == nullptr || m[x]) ++histograms[x & 3][std::abs(p[x] - q[x])];
    }
  }
  int count = 0;
  int histogram[256];
  for (int v = 0; v < 256; ++v) {
    histogram[v] = histograms[0][v] + histograms[1][v] + histograms[2][v] + histograms[3][v];
    count += histogram[v];
  }
  int seen = 0;
  for (int v = 0; v < 256; ++v) {
    seen += histogram[v];
    if (seen * 2 >= count) return v;
  }
  return 0;
}

cv::Rect blob(const cv::Mat& stats, int i) {
  return {stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP), stats.at<int>(i, cv::CC_STAT_WIDTH),
          stats.at<int>(i, cv::CC_STAT_HEIGHT)};
}

cv::Rect unite(const cv::Rect& a, const cv::Rect& b) { return a.empty() ? b : b.empty() ? a : (a | b); }

// connectedComponentsWithStats' labels and the statistics used here (area and box), without its
// statistics pass, which costs by the pixel, set or not (an empty 320x180 frame: 0.16 ms with it,
// 0.05 without). The labels are those connectedComponents gives (the same labelling); the
// statistics are counted from them in one pass, by runs. Returns the number of labels, the
// background's included.
int label_blobs(const cv::Mat& binary, cv::Mat& labels, cv::Mat& stats) {
  const int count = cv::connectedComponents(binary, labels, 8, CV_32S);
  stats.create(count, cv::CC_STAT_MAX, CV_32S);
  for (int i = 0; i < count; ++i) {
    int* s = stats.ptr<int>(i);
    s[cv::CC_STAT_LEFT] = binary.cols;  // min x, min y, max x, max y while counting
    s[cv::CC_STAT_TOP] = binary.rows;
    s[cv::CC_STAT_WIDTH] = -1;
    s[cv::CC_STAT_HEIGHT] = -1;
    s[cv::CC_STAT_AREA] = 0;
  }
  for (int y = 0; y < labels.rows; ++y) {
    const int* row = labels.ptr<int>(y);
    for (int x = 0; x < labels.cols;) {
      const int label = row[x];
      if (label == 0) {
        ++x;
        continue;
      }
      const int start = x;
      while (x < labels.cols && row[x] == label) ++x;
      int* s = stats.ptr<int>(label);
      s[cv::CC_STAT_LEFT] = std::min(s[cv::CC_STAT_LEFT], start);
      s[cv::CC_STAT_WIDTH] = std::max(s[cv::CC_STAT_WIDTH], x - 1);
      s[cv::CC_STAT_TOP] = std::min(s[cv::CC_STAT_TOP], y);
      s[cv::CC_STAT_HEIGHT] = y;  // rows come in order
      s[cv::CC_STAT_AREA] += x - start;
    }
  }
  for (int i = 1; i < count; ++i) {
    int* s = stats.ptr<int>(i);
    s[cv::CC_STAT_WIDTH] -= s[cv::CC_STAT_LEFT] - 1;
    s[cv::CC_STAT_HEIGHT] -= s[cv::CC_STAT_TOP] - 1;
  }
  return count;
}

}  // namespace

struct MotionDetector::Impl {
  MotionSettings settings;
  cv::Size size;
  cv::Mat watch;        // 255 where we look: zones minus exclusions
  int watch_area = 0;
  bool watch_all = true;  // no zones or exclusions: the masked sums need no mask
  std::vector<cv::Mat> zone_watch;  // each zone minus exclusions, made when first asked for
  bool scored = false;  // fg holds the last frame's motion, after every filter
  cv::Mat background;   // CV_32F
  cv::Mat flicker;      // CV_32F, EMA of changed-state flips per frame
  cv::Mat previous_fg;  // CV_8U
  cv::Mat smooth, bg8, bg_max, bg_min, up, down, diff, fg, loose, persistent_candidate, kernel3;
  cv::Mat ratio, near, wide, sharp, cleared;  // drop_smooth_change()
  cv::Mat labels;                         // labels_in()
  cv::Mat loose_stats;  // label_loose()
  cv::Mat fg_stats;     // big_blobs_of_fg()
  int loose_count = 0;
  std::vector<cv::Rect> previous_movers;  // last frame's large unfiltered blobs (fast_movers())
  std::chrono::nanoseconds last_pts{-1};
  std::chrono::nanoseconds light_until{-1};
  int settle_frames = 0;  // after a light change, let the background catch up
  FrameVerdict verdict;

  // Event state
  enum class State { idle, candidate, active } state = State::idle;
  std::int64_t first_frame = 0, last_motion_frame = 0;
  std::chrono::nanoseconds first_pts{0}, last_motion_pts{0}, last_update_pts{0};
  Box event_box, recent_box;

  explicit Impl(MotionSettings s) : settings(std::move(s)) {
    kernel3 = cv::getStructuringElement(cv::MORPH_RECT, {3, 3});
  }

  void reset_model(cv::Size new_size) {
    size = new_size;
    make_watch();
    background.release();
    flicker = cv::Mat::zeros(size, CV_32F);
    previous_fg = cv::Mat::zeros(size, CV_8U);
  }

  void make_watch() {
    watch = settings.zones.empty() ? cv::Mat(size, CV_8U, cv::Scalar(255)) : polygon_mask(settings.zones, size);
    if (!settings.exclusions.empty()) watch.setTo(0, polygon_mask(settings.exclusions, size));
    watch_area = std::max(1, cv::countNonZero(watch));
    watch_all = watch_area == size.area();
    zone_watch.clear();
  }

  std::vector<double> activity() {
    if (zone_watch.empty() && !size.empty()) {
      if (settings.zones.empty()) zone_watch.push_back(watch);
      for (const auto& zone : settings.zones) {
        cv::Mat m = polygon_mask({zone}, size);
        cv::bitwise_and(m, watch, m);
        zone_watch.push_back(m);
      }
    }
    std::vector<double> out;
    for (const auto& m : zone_watch) {
      const int area = cv::countNonZero(m);
      if (!scored || area == 0 || fg.size() != m.size()) {
        out.push_back(0);
        continue;
      }
      cv::bitwise_and(fg, m, diff);
      out.push_back(static_cast<double>(cv::countNonZero(diff)) / area);
    }
    return out;
  }

  double base_threshold() const {
    const int s = std::clamp(settings.sensitivity, 1, 10);
    return 6.0 + (10 - s) * 3.5;  // 1: 37.5 grey levels .. 10: 6
  }

  FrameVerdict analyse(const cv::Mat& frame, std::chrono::nanoseconds pts) {
    FrameVerdict v;
    scored = false;
    if (frame.size() != size) reset_model(frame.size());
    cv::blur(frame, smooth, {3, 3});
    const double dt = last_pts.count() < 0 ? 0.1 : std::clamp(std::chrono::duration<double>(pts - last_pts).count(), 0.001, 2.0);
    last_pts = pts;
    if (background.empty()) {
      smooth.convertTo(background, CV_32F);
      return v;
    }
    background.convertTo(bg8, CV_8U);
    // Global gain (a cloud, dusk, auto-exposure): bring the frame to the background's brightness.
    const double mean_frame = watch_all ? cv::mean(smooth)[0] : cv::mean(smooth, watch)[0];
    const double mean_bg = watch_all ? cv::mean(bg8)[0] : cv::mean(bg8, watch)[0];
    if (mean_frame > 1.0 && std::abs(mean_bg / mean_frame - 1.0) > 0.02) {
      smooth.convertTo(smooth, CV_8U, mean_bg / mean_frame);
    }
    // Shake-tolerant difference: outside the band of the background's 3x3 neighbourhood.
    cv::dilate(bg8, bg_max, kernel3);
    cv::erode(bg8, bg_min, kernel3);
    cv::subtract(smooth, bg_max, up);
    cv::subtract(bg_min, smooth, down);
    cv::max(up, down, diff);
    // Threshold above the noise: the median absolute difference tracks sensor noise at night.
    const double noise = median_abs_difference(smooth, bg8, watch_all ? nullptr : &watch) / 0.6745;
    v.threshold = std::max(base_threshold(), 3.5 * noise);
    cv::compare(diff, v.threshold, fg, cv::CMP_GT);
    if (!watch_all) cv::bitwise_and(fg, watch, fg);

    // Flicker map, from flips of the raw changed state.
    cv::bitwise_xor(fg, previous_fg, up);
    cv::dilate(previous_fg, persistent_candidate, kernel3);  // a slow body moves a pixel or so
    fg.copyTo(previous_fg);
    const double flip_rate = 1.0 - std::exp(-dt / 2.0);  // EMA over about 2 s
    // On a 0/255 image the average is 255 times the flip rate; compare in that scale.
    cv::accumulateWeighted(up, flicker, flip_rate);
    cv::Mat flickering;
    cv::compare(flicker, kFlickerRate * 255.0, flickering, cv::CMP_GT);

    v.changed_fraction = static_cast<double>(cv::countNonZero(fg)) / watch_area;
    const bool light_hint = light_until.count() >= 0 && pts <= light_until;
    if (v.changed_fraction > kLightChangeFraction || light_hint) {
      v.light_change = true;
      settle_frames = 3;
    }
    if (v.light_change || settle_frames > 0) {
      // The scene itself changed: take it as the new background at once.
      if (!v.light_change) --settle_frames;
      smooth.convertTo(background, CV_32F);
      previous_movers.clear();
      return v;
    }

    fg.setTo(0, flickering);
    // A body moving so fast that it never overlaps itself (a sprint across the view) is kept by
    // the mover rule below, from `loose`; everything else must persist.
    cv::morphologyEx(fg, loose, cv::MORPH_OPEN, kernel3);
    cv::dilate(loose, loose, kernel3, {-1, -1}, 2);
    // Change must persist into a second frame: a raindrop, a snowflake or a noise spike does not,
    // a body (which overlaps itself from one frame to the next) does.
    cv::bitwise_and(fg, persistent_candidate, fg);
    cv::morphologyEx(fg, fg, cv::MORPH_OPEN, kernel3);  // speckles: rain, snow, noise
    cv::dilate(fg, fg, kernel3, {-1, -1}, 2);             // join the parts of one body
    // Light moving over part of the scene (a cloud's shadow, a headlight's beam) changes it by a
    // factor that varies smoothly: a body changes it abruptly at its edges. Keep only the change
    // that is not smooth.
    const double min_pixels = settings.min_area * size.width * size.height;
    cv::Rect box;
    if (cv::countNonZero(loose) == 0) {
      previous_movers.clear();  // nothing changed anywhere (fg lies inside loose): no blob to label
    } else {
      label_loose();
      if (drop_smooth_change(min_pixels)) label_loose();
      box = big_blobs_of_fg(min_pixels);
      for (const cv::Rect& r : fast_movers(min_pixels)) {
        box = unite(box, r);
        fg(r).setTo(255, loose(r));
      }
    }
    v.motion = !box.empty();
    v.box = v.motion ? normalised(box, size) : Box{};
    scored = true;

    // Learn the scene: quickly where nothing is, slowly under something, so a person who stops
    // stays foreground for a long while rather than melting into the background.
    const double tau = std::max(0.1, std::chrono::duration<double>(settings.background_time).count());
    const double alpha = 1.0 - std::exp(-dt / tau);
    cv::bitwise_not(fg, up);
    cv::accumulateWeighted(smooth, background, alpha, up);
    cv::accumulateWeighted(smooth, background, alpha / 15.0, fg);
    return v;
  }

  // Labels for a part of the frame, in one frame-sized buffer: OpenCV would otherwise allocate
  // (and the kernel fault in) a new one for every part of another size.
  cv::Mat labels_in(const cv::Rect& r) {
    if (labels.size() != size) labels.create(size, CV_32S);
    return labels(r);
  }

  // Labels loose's blobs (loose_stats, loose_count), for drop_smooth_change() and fast_movers().
  // Only within the box of what is set: labelling costs by the pixel, set or not
  // (0.05 ms for an empty 320x180 frame), and the change is mostly a small part of the view. A box
  // over half the frame is labelled whole: OpenCV labels some large parts (the frame's full width,
  // a row short) at half its speed on the whole.
  void label_loose() {
    cv::Rect within = cv::boundingRect(loose);
    if (within.area() * 2 > size.area()) within = cv::Rect({}, size);
    cv::Mat part = labels_in(within);
    loose_count = within.empty() ? 1
                                 : label_blobs(loose(within), part, loose_stats);
    for (int i = 1; i < loose_count; ++i) {
      loose_stats.at<int>(i, cv::CC_STAT_LEFT) += within.x;
      loose_stats.at<int>(i, cv::CC_STAT_TOP) += within.y;
    }
  }

  // The box around fg's blobs of at least min_pixels. fg lies inside loose, so each of its blobs
  // lies inside one of loose's, and only those of loose's blobs big enough to count can hold one:
  // fg is labelled within their boxes only. (A box may cut a piece off a blob of another; the
  // piece's box lies inside that blob's, which is counted in its own box if it is big enough.)
  cv::Rect big_blobs_of_fg(double min_pixels) {
    cv::Rect box;
    for (int i = 1; i < loose_count; ++i) {
      if (loose_stats.at<int>(i, cv::CC_STAT_AREA) < min_pixels) continue;
      const cv::Rect r = blob(loose_stats, i);
      cv::Mat part = labels_in(r);
      const int count = label_blobs(fg(r), part, fg_stats);
      for (int j = 1; j < count; ++j) {
        if (fg_stats.at<int>(j, cv::CC_STAT_AREA) >= min_pixels) box = unite(box, blob(fg_stats, j) + r.tl());
      }
    }
    return box;
  }

  // Clears the pixels of fg and loose whose change from the background is a smooth factor: the log of
  // frame over background, averaged over 3 px and over 21 px, differs by less than kSmoothLight
  // wherever light alone moved, and by much more inside and around a body. Only the part of the
  // frame around blobs big enough to count is worked on. True when it cleared any: loose's blobs
  // must then be labelled again.
  bool drop_smooth_change(double min_pixels) {
    bool dropped = false;
    for (int i = 1; i < loose_count; ++i) {  // fg is inside loose: only loose blobs big enough to count matter
      if (loose_stats.at<int>(i, cv::CC_STAT_AREA) < min_pixels) continue;
      const cv::Rect r = blob(loose_stats, i);
      const cv::Rect roi = cv::Rect(r.x - 12, r.y - 12, r.width + 24, r.height + 24) & cv::Rect({}, size);
      smooth(roi).convertTo(ratio, CV_32F, 1.0, 8.0);
      bg8(roi).convertTo(wide, CV_32F, 1.0, 8.0);
      cv::divide(ratio, wide, ratio);
      cv::log(ratio, ratio);
      cv::blur(ratio, near, {3, 3}, {-1, -1}, cv::BORDER_REPLICATE);
      cv::blur(ratio, wide, {21, 21}, {-1, -1}, cv::BORDER_REPLICATE);
      cv::absdiff(near, wide, near);
      cv::compare(near, kSmoothLight, sharp, cv::CMP_LE);
      cv::bitwise_and(loose(roi), sharp, cleared);
      if (cv::countNonZero(cleared) == 0) continue;
      dropped = true;
      fg(roi).setTo(0, sharp);
      loose(roi).setTo(0, sharp);
    }
    return dropped;
  }

  // Large blobs that did not persist pixel by pixel but had a blob of like size near them in the
  // last frame: a body crossing faster than its own width a frame. Rain, snow and noise make small
  // blobs only. Remembers this frame's large blobs for the next.
  std::vector<cv::Rect> fast_movers(double min_pixels) {
    std::vector<cv::Rect> now, out;
    for (int i = 1; i < loose_count; ++i) {
      if (loose_stats.at<int>(i, cv::CC_STAT_AREA) < 2 * min_pixels) continue;
      const cv::Rect r = blob(loose_stats, i);
      now.push_back(r);
      for (const cv::Rect& p : previous_movers) {
        const double reach = 2.5 * std::max({r.width, r.height, p.width, p.height});
        const cv::Point2d a(r.x + r.width / 2.0, r.y + r.height / 2.0), b(p.x + p.width / 2.0, p.y + p.height / 2.0);
        const double ratio_of_areas = static_cast<double>(r.area()) / std::max(1, p.area());
        if (cv::norm(a - b) <= reach && ratio_of_areas > 0.33 && ratio_of_areas < 3.0) {
          out.push_back(r);
          break;
        }
      }
    }
    previous_movers = std::move(now);
    return out;
  }

  // The raising frame as the detector saw it; the capture replaces it with a colour one when it can.
  std::vector<std::uint8_t> snapshot(const cv::Mat& frame, const Box& b) const {
    if (!settings.grey_snapshots) return {};
    cv::Mat copy = frame.clone();
    return snapshot_jpeg(YuvView{copy.data, nullptr, nullptr, copy.cols, copy.rows, static_cast<int>(copy.step), 0}, b);
  }

  std::vector<MotionEvent> track(const cv::Mat& frame, std::int64_t index, std::chrono::nanoseconds pts,
                                 const FrameVerdict& v) {
    std::vector<MotionEvent> out;
    const auto candidate_gap = std::max<std::chrono::nanoseconds>(settings.min_duration, std::chrono::seconds{1});
    switch (state) {
      case State::idle:
        if (v.motion) {
          state = State::candidate;
          first_frame = last_motion_frame = index;
          first_pts = last_motion_pts = pts;
          event_box = v.box;
        }
        break;
      case State::candidate:
        if (v.motion) {
          note_motion(index, pts, v.box);
          if (pts - first_pts >= settings.min_duration) {
            state = State::active;
            last_update_pts = pts;
            out.push_back(MotionStart{first_frame, first_pts, index, v.box, snapshot(frame, v.box)});
          }
        } else if (pts - last_motion_pts > candidate_gap) {
          state = State::idle;  // a blip: never was an event
        }
        break;
      case State::active:
        if (v.motion) {
          note_motion(index, pts, v.box);
          recent_box = unite(recent_box, v.box);
        }
        if (pts - last_motion_pts >= settings.event_gap) {
          out.push_back(end());
        } else if (v.motion && pts - first_pts >= settings.max_event) {
          out.push_back(MotionEnd{first_frame, last_motion_frame, first_pts, last_motion_pts, event_box, true});
          first_frame = last_motion_frame = index;
          first_pts = last_motion_pts = last_update_pts = pts;
          event_box = v.box;
          out.push_back(MotionStart{index, pts, index, v.box, snapshot(frame, v.box)});
        } else if (pts - last_update_pts >= settings.update_every && !recent_box.empty()) {
          out.push_back(MotionUpdate{index, pts, recent_box});
          recent_box = {};
          last_update_pts = pts;
        }
        break;
    }
    return out;
  }

  void note_motion(std::int64_t index, std::chrono::nanoseconds pts, const Box& box) {
    last_motion_frame = index;
    last_motion_pts = pts;
    event_box = unite(event_box, box);
  }

  MotionEvent end() {
    state = State::idle;
    recent_box = {};
    return MotionEnd{first_frame, last_motion_frame, first_pts, last_motion_pts, event_box, false};
  }
};

MotionDetector::MotionDetector(MotionSettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}
MotionDetector::~MotionDetector() = default;
MotionDetector::MotionDetector(MotionDetector&&) noexcept = default;
MotionDetector& MotionDetector::operator=(MotionDetector&&) noexcept = default;

std::vector<MotionEvent> MotionDetector::process(const GrayFrame& frame) {
  const cv::Mat image(frame.height, frame.width, CV_8U, const_cast<std::uint8_t*>(frame.data),
                      static_cast<std::size_t>(frame.stride));
  impl_->verdict = impl_->analyse(image, frame.pts);
  return impl_->track(image, frame.index, frame.pts, impl_->verdict);
}

std::vector<MotionEvent> MotionDetector::flush() {
  if (impl_->state == Impl::State::active) return {impl_->end()};
  impl_->state = Impl::State::idle;
  return {};
}

void MotionDetector::light_switching(std::chrono::nanoseconds until) { impl_->light_until = until; }

void MotionDetector::retune(MotionSettings settings) {
  settings.grey_snapshots = impl_->settings.grey_snapshots;
  impl_->settings = std::move(settings);
  if (!impl_->size.empty()) impl_->make_watch();
}

const FrameVerdict& MotionDetector::last_verdict() const { return impl_->verdict; }

std::vector<double> MotionDetector::zone_activity() const { return impl_->activity(); }

}  // namespace assure::pipelines
