#include "assure/pipelines/capture.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <opencv2/imgproc.hpp>

#include "assure/base/backoff.hpp"
#include "assure/pipelines/privacy_mask.hpp"
#include "assure/pipelines/raw_file_source.hpp"
#include "snapshot.hpp"

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

// A buffer time of a sample as running time (negative before the segment starts), which both
// branches share: encoders shift buffer times (x264enc by 1000 hours, to leave room for negative
// decode times) and say so in the segment. None when the time is not set.
std::optional<std::int64_t> running_time(GstSample* sample, GstClockTime t) {
  if (!GST_CLOCK_TIME_IS_VALID(t)) return std::nullopt;
  const GstSegment* segment = gst_sample_get_segment(sample);
  if (segment == nullptr || segment->format != GST_FORMAT_TIME) return static_cast<std::int64_t>(t);
  guint64 out = 0;
  const int sign = gst_segment_to_running_time_full(segment, GST_FORMAT_TIME, t, &out);
  if (sign == 0) return std::nullopt;
  return sign > 0 ? static_cast<std::int64_t>(out) : -static_cast<std::int64_t>(out);
}

}  // namespace

void ensure_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] {
    gst_init(nullptr, nullptr);
    register_privacy_mask();
    register_raw_file_source();
  });
}

void VideoCapture::queue_for_analysis(GstSample* sample, std::int64_t index) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstVideoInfo info;
  if (buffer == nullptr || !gst_video_info_from_caps(&info, gst_sample_get_caps(sample))) return;
  GstVideoFrame video;
  if (!gst_video_frame_map(&video, &info, buffer, GST_MAP_READ)) return;
  Frame frame;
  const int source_width = GST_VIDEO_INFO_WIDTH(&info), source_height = GST_VIDEO_INFO_HEIGHT(&info);
  // Colour at the snapshot width when snapshots are wider than the detector's frame, else the grey
  // plane at the detector's width; never wider than the source. Scaled here, from the frame the
  // branch hands over whole (no copy upstream): OpenCV halves a 720p plane in a twentieth of the
  // time videoscale takes (pipeline_bench).
  const bool colour = options_.snapshot_width > options_.analysis_width;
  const int wanted = colour ? options_.snapshot_width : options_.analysis_width;
  frame.width = std::min(source_width, wanted) & ~1;
  frame.height = std::max(2, static_cast<int>(std::lround(static_cast<double>(source_height) * frame.width /
                                                          std::max(1, source_width)))) & ~1;
  frame.stride = frame.width;
  frame.index = index;
  // Running time, as the recording branch uses, so motion and clips agree on "when".
  frame.pts = std::chrono::nanoseconds{last_pts_ns_.load()};
  if (const auto t = running_time(sample, GST_BUFFER_PTS(buffer)); t && *t >= 0) {
    const auto step = GST_BUFFER_DURATION_IS_VALID(buffer) ? std::chrono::nanoseconds{GST_BUFFER_DURATION(buffer)}
                                                           : std::chrono::nanoseconds{0};
    frame.pts = analysis_time_.map(std::chrono::nanoseconds{*t}, step);
  }
  last_pts_ns_ = frame.pts.count();
  const std::size_t y_bytes = static_cast<std::size_t>(frame.stride) * frame.height;
  std::size_t uv_bytes = 0;
  if (colour) {
    frame.uv_stride = frame.width / 2;
    uv_bytes = static_cast<std::size_t>(frame.uv_stride) * (frame.height / 2);
    frame.u_offset = y_bytes;
    frame.v_offset = y_bytes + uv_bytes;
  }
  {
    std::lock_guard lock(analysis_mutex_);
    if (!spare_pixels_.empty()) {
      frame.pixels = std::move(spare_pixels_.back());
      spare_pixels_.pop_back();
    }
  }
  frame.pixels.resize(y_bytes + 2 * uv_bytes);  // a spare is of the same size: nothing to zero
  auto scale_plane = [&](int plane, int width, int height, std::size_t offset, int out_width, int out_height) {
    const cv::Mat in(height, width, CV_8U, GST_VIDEO_FRAME_PLANE_DATA(&video, plane),
                     static_cast<std::size_t>(GST_VIDEO_FRAME_PLANE_STRIDE(&video, plane)));
    cv::Mat out(out_height, out_width, CV_8U, frame.pixels.data() + offset);
    if (in.size() == out.size()) {
      in.copyTo(out);
    } else {
      // Exactly half (720p to 640) has OpenCV's fast area path; other factors go bilinear (the
      // area path for a third costs five times as much).
      const bool half = in.cols == 2 * out.cols && in.rows == 2 * out.rows;
      cv::resize(in, out, out.size(), 0, 0, half ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
  };
  scale_plane(0, source_width, source_height, 0, frame.width, frame.height);
  if (colour) {
    const int uv_width = (source_width + 1) / 2, uv_height = (source_height + 1) / 2;
    scale_plane(1, uv_width, uv_height, frame.u_offset, frame.uv_stride, frame.height / 2);
    scale_plane(2, uv_width, uv_height, frame.v_offset, frame.uv_stride, frame.height / 2);
  }
  gst_video_frame_unmap(&video);
  std::unique_lock lock(analysis_mutex_);
  if (options_.realtime) {
    // Live: never hold up the pipeline; the newest frames matter most.
    while (analysis_queue_.size() >= 2) {
      keep_pixels(std::move(analysis_queue_.front().pixels));
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

void VideoCapture::keep_pixels(std::vector<std::uint8_t> pixels) {
  if (spare_pixels_.size() < 4) spare_pixels_.push_back(std::move(pixels));
}

struct VideoCapture::Run {
  VideoCapture* self = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* convert = nullptr;
  bool announced = false;  // analysis streaming thread only
  // Every frame is counted where the analysis branch begins; at most analysis_fps of them go on
  // to be scaled and analysed. Their stream indexes travel beside them, matched by time.
  GstClockTime period = 0;
  GstClockTime next_keep = GST_CLOCK_TIME_NONE;
  std::mutex index_mutex;
  std::deque<std::pair<GstClockTime, std::int64_t>> kept;  // (pts, frame index)
};

VideoCapture::VideoCapture(CaptureOptions options, Sink sink)
    : options_(std::move(options)), sink_(std::move(sink)) {
  ensure_gstreamer();
}

VideoCapture::~VideoCapture() { stop(); }

void VideoCapture::start() {
  if (thread_.joinable()) return;
  stop_requested_ = false;
  if (options_.recording) {
    recorder_ = std::make_unique<ClipRecorder>(
        *options_.recording, [this](const ClipOpened& opened) { sink_(opened); },
        [this](const ClipClosed& closed) { sink_(closed); });
    if (options_.segments) {
      segments_ = std::make_unique<SegmentRecorder>(*options_.segments,
                                                    [this](const SegmentClosed& closed) { sink_(closed); });
    }
  }
  if (options_.motion) {
    MotionSettings motion = *options_.motion;
    motion.grey_snapshots = options_.snapshot_width <= 0;
    detector_.emplace(std::move(motion));
    if (options_.tamper) tamper_.emplace(*options_.tamper);
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
  if (recorder_) recorder_->stream_ended("stopped");
  if (segments_) segments_->stream_ended("stopped");
}

void VideoCapture::pause_segments(const std::string& reason) {
  if (segments_) segments_->pause(reason);
}

void VideoCapture::resume_segments() {
  if (segments_) segments_->resume();
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

bool VideoCapture::sleep_unless_stopped(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [&] { return stop_requested_.load(); });
}

// Lowers the calling thread's priority by `nice` (threads it creates inherit it: GStreamer's
// streaming threads and the encoder's are made by the thread that sets the pipeline playing).
void lower_priority(int nice) {
  if (nice <= 0) return;
  const auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && ::setpriority(PRIO_PROCESS, tid, std::min(19, now + nice)) != 0) {
    spdlog::warn("video: cannot lower the video threads' priority: {}", std::strerror(errno));
  }
}

void VideoCapture::supervise() {
  pthread_setname_np(pthread_self(), "video");  // GStreamer names the streaming threads it makes
  lower_priority(options_.nice);
  Backoff backoff(options_.retry_min, options_.retry_max);
  unsigned attempt = 0;
  while (!stop_requested_) {
    const std::uint64_t frames_before = frames();
    std::string reason = run_once();
    if (stop_requested_) break;
    // The next run's stream times start again; a clip ends with this one (after the analysis has
    // caught up when replaying, so the last event is inside it).
    if (recorder_ && options_.retry) recorder_->stream_ended("video lost: " + reason);
    if (segments_ && options_.retry) segments_->stream_ended("video lost: " + reason);
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
    if (recorder_) recorder_->stream_ended("end of stream");
    if (segments_) segments_->stream_ended("end of stream");
    sink_(VideoEnded{});
  }
}

void VideoCapture::on_frame(Run& run, GstSample* sample) {
  std::int64_t index = -1;
  if (GstBuffer* buffer = gst_sample_get_buffer(sample)) {
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    std::lock_guard lock(run.index_mutex);
    while (!run.kept.empty() && index < 0) {
      const auto [kept_pts, kept_index] = run.kept.front();
      run.kept.pop_front();
      if (kept_pts == pts || !GST_CLOCK_TIME_IS_VALID(pts)) index = kept_index;
      // an older entry: that frame was dropped by the leaky queue on its way here
    }
  }
  if (detector_ && index >= 0) queue_for_analysis(sample, index);
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

void VideoCapture::on_encoded(GstSample* sample) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (buffer == nullptr) return;
  if (GstCaps* caps = gst_sample_get_caps(sample)) {
    gchar* text = gst_caps_to_string(caps);
    if (last_caps_ != text) {
      last_caps_ = text;
      recorder_->set_caps(last_caps_);
      if (segments_) segments_->set_caps(last_caps_);
    }
    g_free(text);
  }
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
  AccessUnit unit;
  unit.data.assign(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  // Times as running time, which the analysis branch's frames share: encoders shift buffer times
  // (x264enc by 1000 hours, to leave room for negative decode times) and say so in the segment.
  // Made monotonic by decode time (presentation times may be reordered), shifting both alike.
  const auto raw_pts = std::chrono::nanoseconds{running_time(sample, GST_BUFFER_PTS(buffer)).value_or(0)};
  const auto raw_dts = std::chrono::nanoseconds{running_time(sample, GST_BUFFER_DTS(buffer)).value_or(raw_pts.count())};
  if (GST_BUFFER_DURATION_IS_VALID(buffer)) unit.duration = std::chrono::nanoseconds{GST_BUFFER_DURATION(buffer)};
  unit.dts = recording_time_.map(raw_dts, unit.duration);
  unit.pts = recording_time_.shift(raw_pts);
  unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  unit.utc = std::chrono::system_clock::now();
  if (segments_) segments_->push(unit);
  recorder_->push(std::move(unit));
}

namespace {

// Makes the encoder send a keyframe at least every `interval` of stream time, whatever encoder the
// board names: a force-key-unit event ahead of the picture that is due.
struct KeyframeForcer {
  GstClockTime interval = 2 * GST_SECOND;
  GstClockTime next = GST_CLOCK_TIME_NONE;
};

GstPadProbeReturn force_keyframes(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  auto* forcer = static_cast<KeyframeForcer*>(data);
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  const GstClockTime pts = buffer != nullptr ? GST_BUFFER_PTS(buffer) : GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return GST_PAD_PROBE_OK;
  if (!GST_CLOCK_TIME_IS_VALID(forcer->next) || pts + forcer->interval < forcer->next) {
    forcer->next = pts + forcer->interval;  // the first picture is a keyframe anyway; or time went back
  } else if (pts >= forcer->next) {
    gst_pad_push_event(pad, gst_video_event_new_downstream_force_key_unit(
                                GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, TRUE, 0));
    forcer->next = pts + forcer->interval;
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

std::string VideoCapture::run_once() {
  auto source = source_description(options_.source);
  std::vector<Polygon> masks;
  {
    std::lock_guard lock(mutex_);
    masks = options_.privacy_masks;
  }
  if (!source) return source.error().message;
  const bool live = options_.realtime;
  // A file played as a camera is paced once, ahead of the tee, so both branches see frames as a
  // camera would give them; the sinks then take frames as they come. (Pacing at the sinks instead
  // lets the source run ahead by the recording queue, starving the leaky analysis branch.)
  const char* pace = live && options_.source.kind == "file" ? "identity name=pace sync=true ! " : "";
  const char* sync = "false";
  std::string launch = fmt::format(
      "{} ! {}videoconvert name=convert ! {} ! tee name=split "
      "split. ! queue name=analysis_queue {} ! videoconvert ! video/x-raw,format=I420 ! "
      "appsink name=analysis max-buffers=1 drop=true enable-last-sample=false sync={}",
      *source, pace, privacy_mask_description(masks),
      // Live: a slow analysis loses its oldest frames, never holds up the tee (and the recording).
      live ? "leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0" : "max-size-buffers=4",
      sync);
  if (options_.recording) {
    launch += fmt::format(
        " split. ! queue name=record_queue max-size-buffers=0 max-size-bytes=16777216 max-size-time=1000000000 ! "
        "videoconvert name=record_convert ! {} ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
        "appsink name=recording enable-last-sample=false sync={}",
        options_.recording->encoder, sync);
  }

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
  run.period = options_.analysis_fps > 0 ? GST_SECOND / static_cast<GstClockTime>(options_.analysis_fps) : 0;
  ElementPtr analysis_queue(gst_bin_get_by_name(GST_BIN(pipeline.get()), "analysis_queue"));
  if (GstPad* pad = gst_element_get_static_pad(analysis_queue.get(), "sink")) {
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          auto* r = static_cast<Run*>(data);
          VideoCapture* self = r->self;
          const auto index = static_cast<std::int64_t>(self->frames_.fetch_add(1, std::memory_order_relaxed));
          self->last_frame_ns_.store(steady_ns(), std::memory_order_relaxed);
          GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
          const GstClockTime pts = buffer != nullptr ? GST_BUFFER_PTS(buffer) : GST_CLOCK_TIME_NONE;
          if (r->period > 0 && GST_CLOCK_TIME_IS_VALID(pts)) {
            const bool first = !GST_CLOCK_TIME_IS_VALID(r->next_keep);
            const bool went_back = !first && pts + 2 * r->period < r->next_keep;  // a loop or a seek
            // A quarter period of slack, so a 10 fps source with jittery times keeps every frame.
            if (!first && !went_back && pts + r->period / 4 < r->next_keep) {
              return GST_PAD_PROBE_DROP;  // more often than the analysis needs
            }
            const bool on_cadence = !first && !went_back && r->next_keep + r->period > pts;
            r->next_keep = on_cadence ? r->next_keep + r->period : pts + r->period;
          }
          std::lock_guard lock(r->index_mutex);
          r->kept.emplace_back(pts, index);
          if (r->kept.size() > 64) r->kept.pop_front();
          return GST_PAD_PROBE_OK;
        },
        &run, nullptr);
    gst_object_unref(pad);
  }

  {
    // Live, frames come one at a time: a software decoder's frame threads would only add latency
    // and a frame buffer each (tens of MB at 1080p), so one thread. Replaying, a thread a core:
    // with the analysis as cheap as it now is, two frame threads on two cores replayed 720p
    // 0-27% faster than one (four interleaved pairs, 11.75x against 12.8x real time on average;
    // the decoder's own choice, a thread more than the cores, was slower than either).
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const int threads = options_.realtime ? 1 : static_cast<int>(std::min(cores, 4u));
    g_signal_connect(pipeline.get(), "deep-element-added",
                     G_CALLBACK(+[](GstBin*, GstBin*, GstElement* element, gpointer data) {
                       GstElementFactory* factory = gst_element_get_factory(element);
                       const gchar* name = factory != nullptr ? GST_OBJECT_NAME(factory) : "";
                       if (g_str_has_prefix(name, "avdec_") &&
                           g_object_class_find_property(G_OBJECT_GET_CLASS(element), "max-threads") != nullptr) {
                         g_object_set(element, "max-threads", GPOINTER_TO_INT(data), nullptr);
                       }
                     }),
                     GINT_TO_POINTER(threads));
  }
  KeyframeForcer forcer;
  last_caps_.clear();
  if (options_.recording) {
    forcer.interval = static_cast<GstClockTime>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.recording->keyframe_interval).count());
    ElementPtr record_convert(gst_bin_get_by_name(GST_BIN(pipeline.get()), "record_convert"));
    if (GstPad* pad = gst_element_get_static_pad(record_convert.get(), "src")) {
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, force_keyframes, &forcer, nullptr);
      gst_object_unref(pad);
    }
    ElementPtr recording(gst_bin_get_by_name(GST_BIN(pipeline.get()), "recording"));
    GstAppSinkCallbacks encoded{};
    encoded.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
      auto* self = static_cast<VideoCapture*>(data);
      if (GstSample* sample = gst_app_sink_pull_sample(sink)) {
        self->on_encoded(sample);
        gst_sample_unref(sample);
      }
      return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(GST_APP_SINK(recording.get()), &encoded, this, nullptr);
  }

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

  ElementPtr mask(gst_bin_get_by_name(GST_BIN(pipeline.get()), "privacy"));
  {
    std::lock_guard lock(mutex_);
    mask_element_ = mask.get();
    // A retune() between reading the masks and here went to no element.
    if (options_.privacy_masks != masks) {
      g_object_set(mask_element_, "polygons", to_string(options_.privacy_masks).c_str(), nullptr);
    }
  }
  BusPtr bus(gst_element_get_bus(pipeline.get()));
  std::string reason;
  last_frame_ns_ = steady_ns();
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The element that refused says why on the bus.
    reason = fmt::format("{} would not start", describe(options_.source));
    if (GstMessage* message = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
      reason += ": " + error_text(message);
      gst_message_unref(message);
    }
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
        reason = fmt::format("{}: {}", describe(options_.source), error_text(message));
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
  {
    std::lock_guard lock(mutex_);
    mask_element_ = nullptr;
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  running_ = false;
  return reason;
}

}  // namespace assure::pipelines
