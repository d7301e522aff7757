// The capture's analysis side: the analysis thread running queued frames through the motion
// detector, the tamper detector and the aim meter, colour snapshots, and live retuning of the detector and the masks.
#include <glib-object.h>
#include <pthread.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "assure/pipelines/capture.hpp"
#include "snapshot.hpp"

namespace assure::pipelines {

bool VideoCapture::retune(std::optional<MotionSettings> motion, std::vector<Polygon> privacy_masks) {
  if (motion && !options_.motion) return false;
  if (motion) {
    std::lock_guard lock(analysis_mutex_);
    pending_motion_ = std::move(motion);
  }
  std::lock_guard lock(mutex_);
  if (mask_element_ != nullptr) g_object_set(mask_element_, "polygons", to_string(privacy_masks).c_str(), nullptr);
  options_.privacy_masks = std::move(privacy_masks);
  return true;
}

bool VideoCapture::accept_view() {
  if (!options_.tamper || !options_.motion) return false;
  accept_view_ = true;
  return true;
}

// The analysis thread: every queued frame through the detector, in order; at the end of the
// stream (the queue closed and empty) an event in progress is ended.
void VideoCapture::analyse() {
  pthread_setname_np(pthread_self(), "video-analysis");  // as top and the benchmarks show it
  lower_priority(options_.nice);
  // Frames of 320 px: OpenCV's worker threads would cost more in handing out the work than they
  // save, and would take cores from the decoder and the encoder.
  cv::setNumThreads(0);
  while (true) {
    Frame frame;
    std::optional<MotionSettings> tune;
    {
      std::unique_lock lock(analysis_mutex_);
      analysis_ready_.wait(lock, [&] { return !analysis_queue_.empty() || analysis_closing_; });
      if (analysis_queue_.empty()) break;
      frame = std::move(analysis_queue_.front());
      analysis_queue_.pop_front();
      tune.swap(pending_motion_);
    }
    analysis_ready_.notify_all();
    if (tune) {
      detector_->retune(std::move(*tune));
      aim_meter_.reset();  // the zones may be others now
    }
    if (const auto until = light_until_ns_.exchange(-1); until >= 0) {
      detector_->light_switching(std::chrono::nanoseconds{until});
      if (tamper_) tamper_->light_switching(std::chrono::nanoseconds{until});
    }
    if (tamper_ && accept_view_.exchange(false)) tamper_->accept_view();
    const auto begin = std::chrono::steady_clock::now();
    auto events = detect(frame);
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    {
      std::lock_guard lock(analysis_mutex_);
      ++stats_.frames;
      stats_.busy_seconds += spent;
      keep_pixels(std::move(frame.pixels));
    }
    for (auto& event : events) deliver(event);
  }
  for (auto& event : detector_->flush()) deliver(event);
}

// The detector sees the grey plane at analysis size; a motion start gets its snapshot in colour
// from the same frame, at the size the branch delivered it.
std::vector<MotionEvent> VideoCapture::detect(Frame& frame) {
  GrayFrame grey{frame.pixels.data(), frame.width, frame.height, frame.stride, frame.index, frame.pts};
  cv::Mat small;
  if (frame.width > options_.analysis_width) {
    const cv::Mat full(frame.height, frame.width, CV_8UC1, frame.pixels.data(), static_cast<std::size_t>(frame.stride));
    const int height = std::max(1, static_cast<int>(std::lround(static_cast<double>(frame.height) *
                                                                options_.analysis_width / frame.width)));
    cv::resize(full, small, cv::Size(options_.analysis_width, height), 0, 0, cv::INTER_AREA);
    grey = GrayFrame{small.data, small.cols, small.rows, static_cast<int>(small.step), frame.index, frame.pts};
  }
  auto events = detector_->process(grey);
  if (tamper_) {
    for (const auto& event : tamper_->process(grey)) std::visit([&](const auto& e) { sink_(e); }, event);
  }
  if (aim_on_) {
    if (auto reading = aim_meter_.add(grey, detector_->last_verdict(), detector_->zone_activity())) sink_(*reading);
  } else {
    aim_meter_.reset();
  }
  if (snapshot_requested_.exchange(false)) {
    std::uint8_t* base = frame.pixels.data();
    const bool colour = frame.uv_stride > 0;
    std::vector<std::uint8_t> copy;
    if (!colour) copy.assign(grey.data, grey.data + static_cast<std::size_t>(grey.stride) * grey.height);
    const YuvView view = colour ? YuvView{base, base + frame.u_offset, base + frame.v_offset, frame.width, frame.height,
                                          frame.stride, frame.uv_stride}
                                : YuvView{copy.data(), nullptr, nullptr, grey.width, grey.height, grey.stride, 0};
    sink_(SnapshotTaken{snapshot_jpeg(view, Box{}), frame.index});
  }
  if (frame.uv_stride > 0) {
    for (auto& event : events) {
      if (auto* start = std::get_if<MotionStart>(&event)) {
        std::uint8_t* base = frame.pixels.data();
        start->snapshot_jpeg = snapshot_jpeg(YuvView{base, base + frame.u_offset, base + frame.v_offset, frame.width,
                                                     frame.height, frame.stride, frame.uv_stride},
                                             start->box);
      }
    }
  }
  return events;
}

// Motion to the recorder first, so a clip it opens is announced before the event that opened it.
void VideoCapture::deliver(const MotionEvent& event) {
  if (recorder_) {
    if (const auto* start = std::get_if<MotionStart>(&event)) recorder_->motion(*start);
    if (const auto* end = std::get_if<MotionEnd>(&event)) recorder_->motion(*end);
  }
  std::visit([&](const auto& e) { sink_(e); }, event);
}

}  // namespace assure::pipelines
