#include "assure/pipelines/capture.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "assure/base/backoff.hpp"

namespace assure::pipelines {
namespace {

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct GstDeleter {
  void operator()(gpointer object) const { gst_object_unref(object); }
};
using ElementPtr = std::unique_ptr<GstElement, GstDeleter>;
using BusPtr = std::unique_ptr<GstBus, GstDeleter>;

std::string error_text(GstMessage* message) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  std::string text = fmt::format("{}: {}", GST_OBJECT_NAME(message->src), error ? error->message : "error");
  if (debug != nullptr) text += fmt::format(" ({})", debug);
  g_clear_error(&error);
  g_free(debug);
  return text;
}

}  // namespace

void ensure_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

void VideoCapture::queue_for_analysis(GstSample* sample, std::int64_t index) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstVideoInfo info;
  if (buffer == nullptr || !gst_video_info_from_caps(&info, gst_sample_get_caps(sample))) return;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
  Frame frame;
  frame.width = GST_VIDEO_INFO_WIDTH(&info);
  frame.height = GST_VIDEO_INFO_HEIGHT(&info);
  frame.stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  frame.index = index;
  frame.pts = GST_BUFFER_PTS_IS_VALID(buffer) ? std::chrono::nanoseconds{GST_BUFFER_PTS(buffer)}
                                              : std::chrono::nanoseconds{last_pts_ns_.load()};
  last_pts_ns_ = frame.pts.count();
  frame.pixels.assign(map.data, map.data + std::min<gsize>(map.size, static_cast<gsize>(frame.stride) * frame.height));
  gst_buffer_unmap(buffer, &map);
  std::unique_lock lock(analysis_mutex_);
  if (options_.realtime) {
    // Live: never hold up the pipeline; the newest frames matter most.
    while (analysis_queue_.size() >= 2) {
      analysis_queue_.pop_front();
      ++stats_.dropped;
    }
  } else {
    // Replay: every frame is analysed; the decoder waits for the analysis.
    analysis_ready_.wait(lock, [&] { return analysis_queue_.size() < 4 || analysis_closing_; });
  }
  analysis_queue_.push_back(std::move(frame));
  lock.unlock();
  analysis_ready_.notify_all();
}

struct VideoCapture::Run {
  VideoCapture* self = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* convert = nullptr;
  bool announced = false;  // streaming thread only
};

VideoCapture::VideoCapture(CaptureOptions options, Sink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  ensure_gstreamer();
}

VideoCapture::~VideoCapture() { stop(); }

void VideoCapture::start() {
  if (thread_.joinable()) return;
  stop_requested_ = false;
  if (options_.motion) {
    detector_.emplace(*options_.motion);
    analysis_thread_ = std::thread([this] { analyse(); });
  }
  thread_ = std::thread([this] { supervise(); });
}

void VideoCapture::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  close_analysis();
}

void VideoCapture::close_analysis() {
  {
    std::lock_guard lock(analysis_mutex_);
    analysis_closing_ = true;
  }
  analysis_ready_.notify_all();
  if (analysis_thread_.joinable()) analysis_thread_.join();
}

AnalysisStats VideoCapture::analysis() const {
  std::lock_guard lock(analysis_mutex_);
  return stats_;
}

void VideoCapture::light_switching(std::chrono::milliseconds for_how_long) {
  light_until_ns_ = last_pts_ns_.load() + std::chrono::nanoseconds{for_how_long}.count();
}

// The analysis thread: every queued frame through the detector, in order; at the end of the
// stream (the queue closed and empty) an event in progress is ended.
void VideoCapture::analyse() {
  while (true) {
    Frame frame;
    {
      std::unique_lock lock(analysis_mutex_);
      analysis_ready_.wait(lock, [&] { return !analysis_queue_.empty() || analysis_closing_; });
      if (analysis_queue_.empty()) break;
      frame = std::move(analysis_queue_.front());
      analysis_queue_.pop_front();
    }
    analysis_ready_.notify_all();
    if (const auto until = light_until_ns_.exchange(-1); until >= 0) {
      detector_->light_switching(std::chrono::nanoseconds{until});
    }
    const auto begin = std::chrono::steady_clock::now();
    auto events = detector_->process(
        GrayFrame{frame.pixels.data(), frame.width, frame.height, frame.stride, frame.index, frame.pts});
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    {
      std::lock_guard lock(analysis_mutex_);
      ++stats_.frames;
      stats_.busy_seconds += spent;
    }
    for (auto& event : events) std::visit([&](auto& e) { sink_(e); }, event);
  }
  for (auto& event : detector_->flush()) std::visit([&](auto& e) { sink_(e); }, event);
}

bool VideoCapture::sleep_unless_stopped(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [&] { return stop_requested_.load(); });
}

void VideoCapture::supervise() {
  Backoff backoff(options_.retry_min, options_.retry_max);
  unsigned attempt = 0;
  while (!stop_requested_) {
    const std::uint64_t frames_before = frames();
    std::string reason = run_once();
    if (stop_requested_) break;
    if (frames() > frames_before) {  // it ran, so this is a new outage: retry soon
      backoff.reset();
      attempt = 0;
    }
    lost_ = true;
    if (!options_.retry) {
      sink_(VideoLost{reason, std::chrono::milliseconds{0}, ++attempt});
      break;
    }
    const auto delay = backoff.next();
    sink_(VideoLost{reason, delay, ++attempt});
    if (!sleep_unless_stopped(delay)) break;
  }
  running_ = false;
  if (!options_.retry) {
    // Every queued frame is analysed before the capture says it is over.
    close_analysis();
    sink_(VideoEnded{});
  }
}

void VideoCapture::on_frame(Run& run, GstSample* sample) {
  const std::uint64_t index = frames_.fetch_add(1, std::memory_order_relaxed);
  last_frame_ns_.store(steady_ns(), std::memory_order_relaxed);
  if (detector_) queue_for_analysis(sample, static_cast<std::int64_t>(index));
  if (run.announced) return;
  run.announced = true;
  running_ = true;
  VideoStarted started;
  started.restored = lost_;
  if (GstPad* pad = gst_element_get_static_pad(run.convert, "sink")) {
    if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
      const GstStructure* s = gst_caps_get_structure(caps, 0);
      gst_structure_get_int(s, "width", &started.width);
      gst_structure_get_int(s, "height", &started.height);
      int num = 0, den = 1;
      if (gst_structure_get_fraction(s, "framerate", &num, &den) && den != 0) {
        started.framerate = static_cast<double>(num) / den;
      }
      gst_caps_unref(caps);
    }
    gst_object_unref(pad);
  }
  sink_(started);
}

std::string VideoCapture::run_once() {
  auto source = source_description(options_.source);
  if (!source) return source.error().message;
  const std::string launch = fmt::format(
      "{} ! videoconvert name=convert ! videoscale ! "
      "video/x-raw,format=GRAY8,width={},pixel-aspect-ratio=1/1 ! "
      "appsink name=analysis max-buffers=2 drop=true enable-last-sample=false sync={}",
      *source, options_.analysis_width, options_.realtime ? "true" : "false");

  GError* error = nullptr;
  ElementPtr pipeline(gst_parse_launch(launch.c_str(), &error));
  if (error != nullptr) {
    std::string text = fmt::format("cannot build the video pipeline for {}: {}", describe(options_.source),
                                   error->message);
    g_clear_error(&error);
    return text;
  }
  Run run;
  run.self = this;
  run.pipeline = pipeline.get();
  ElementPtr convert(gst_bin_get_by_name(GST_BIN(pipeline.get()), "convert"));
  ElementPtr appsink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "analysis"));
  run.convert = convert.get();

  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
    auto* r = static_cast<Run*>(data);
    if (GstSample* sample = gst_app_sink_pull_sample(sink)) {
      r->self->on_frame(*r, sample);
      gst_sample_unref(sample);
    }
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink.get()), &callbacks, &run, nullptr);

  BusPtr bus(gst_element_get_bus(pipeline.get()));
  std::string reason;
  last_frame_ns_ = steady_ns();
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    reason = fmt::format("{} would not start", describe(options_.source));
  }
  const std::int64_t stall_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stall_timeout).count();
  while (reason.empty() && !stop_requested_) {
    GstMessage* message = gst_bus_timed_pop_filtered(
        bus.get(), 100 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING));
    if (message == nullptr) {
      if (steady_ns() - last_frame_ns_.load() > stall_ns) {
        reason = fmt::format("no frame from {} for {} ms", describe(options_.source),
                             options_.stall_timeout.count());
      }
      continue;
    }
    switch (GST_MESSAGE_TYPE(message)) {
      case GST_MESSAGE_ERROR:
        reason = error_text(message);
        break;
      case GST_MESSAGE_WARNING: {
        GError* warning = nullptr;
        gst_message_parse_warning(message, &warning, nullptr);
        spdlog::warn("video: {}: {}", GST_OBJECT_NAME(message->src), warning ? warning->message : "");
        g_clear_error(&warning);
        break;
      }
      case GST_MESSAGE_EOS:
        if (options_.source.kind == "file" && options_.source.loop &&
            gst_element_seek_simple(pipeline.get(), GST_FORMAT_TIME,
                                    static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT), 0)) {
          break;
        }
        reason = fmt::format("end of stream from {}", describe(options_.source));
        break;
      default:
        break;
    }
    gst_message_unref(message);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  running_ = false;
  return reason;
}

}  // namespace assure::pipelines
