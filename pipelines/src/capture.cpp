#include "assure/pipelines/capture.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
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
  thread_ = std::thread([this] { supervise(); });
}

void VideoCapture::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
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
    const auto delay = backoff.next();
    sink_(VideoLost{reason, delay, ++attempt});
    if (!sleep_unless_stopped(delay)) break;
  }
  running_ = false;
}

void VideoCapture::on_frame(Run& run) {
  const std::uint64_t count = frames_.fetch_add(1, std::memory_order_relaxed) + 1;
  last_frame_ns_.store(steady_ns(), std::memory_order_relaxed);
  (void)count;
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
      r->self->on_frame(*r);
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
