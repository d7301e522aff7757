#pragma once
// The capture: one source, supervised. It reports when frames flow, when they stop (an error, the
// end of a file, a camera unplugged) and when they come back, and retries with backoff in between;
// a failing source never takes the daemon down.
//
// The graph: source ! videoconvert ! assureprivacymask ! tee, then two branches.
//   analysis:  queue (leaky when live) ! I420 ! appsink, scaled to the snapshot size by OpenCV
//              -> MotionDetector and TamperDetector on the grey plane, colour snapshots from the same frame
//   recording: queue ! encoder (forced keyframe every keyframe_interval) ! h264parse ! appsink
//              -> ClipRecorder (pre-event ring, MP4 clips)
// Privacy masks are burnt into the frame before the tee, so neither branch ever sees what they hide.
// A slow analysis drops its own frames and never holds up the recording.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <deque>
#include <optional>
#include <thread>

#include <variant>
#include <vector>

#include "assure/pipelines/aim.hpp"
#include "assure/pipelines/motion.hpp"
#include "assure/pipelines/recording.hpp"
#include "assure/pipelines/segments.hpp"
#include "assure/pipelines/source.hpp"
#include "assure/pipelines/tamper.hpp"
#include "assure/pipelines/timeline.hpp"

struct _GstSample;  // GStreamer stays out of this header
struct _GstElement;

namespace assure::pipelines {

struct CaptureOptions {
  SourceSpec source;
  bool realtime = true;  // pace a file at its frame rate, as a camera would; false: as fast as possible
  int analysis_width = 320;
  // Motion-start snapshots are in colour, this wide (less when the source is narrower), from the
  // very frame that raised the event, masks burnt in. 0: the detector's own greyscale frame.
  int snapshot_width = 640;
  // At most this many frames a second are scaled and analysed (the detector is tuned at 10); every
  // frame is still counted and recorded. 0: all of them.
  int analysis_fps = 10;
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{30000};
  // A source that delivers no frame for this long is lost, even without an error (a hung camera).
  std::chrono::milliseconds stall_timeout{10000};
  bool retry = true;  // false: an ended or failed source ends the capture (replaying a file)
  // Motion analysis on the downscaled greyscale frames; none when empty. Live, the analysis queue
  // drops its oldest frame rather than ever holding up the pipeline; replaying (realtime false)
  // every frame is analysed.
  std::optional<MotionSettings> motion;
  // Camera tamper (covered, defocused, moved) on the same analysed frames; needs motion analysis.
  std::optional<TamperSettings> tamper;
  // Blacked out in every frame before anything else sees it.
  std::vector<Polygon> privacy_masks;
  // The recording branch and evidence clips; none when empty (replay without --clips).
  std::optional<RecordingOptions> recording;
  // Continuous recording into segments from the same encoded stream (needs `recording`).
  std::optional<SegmentOptions> segments;
  // Added to the nice value of every thread the video runs on (the pipeline's streaming threads,
  // the encoder's, the analysis): a device gives its alarm path the CPU before the video.
  int nice = 0;
};

struct VideoStarted {  // the first frame arrived (after start or after a loss)
  int width = 0;       // of the source
  int height = 0;
  double framerate = 0;
  bool restored = false;  // true when frames came back after a VideoLost
};
struct VideoLost {
  std::string reason;  // what failed, naming the element and the file or device
  std::chrono::milliseconds retry_in{0};
  unsigned attempt = 0;  // failed attempts in a row; 1 marks the start of an outage
};
struct VideoEnded {};  // retry false: the source ended or failed and the capture has stopped
struct SnapshotTaken {  // asked for by request_snapshot(): the next analysed frame, as JPEG
  std::vector<std::uint8_t> jpeg;
  std::int64_t frame = 0;
};
using VideoEvent = std::variant<VideoStarted, VideoLost, VideoEnded, MotionStart, MotionUpdate, MotionEnd,
                                ClipOpened, ClipClosed, SegmentClosed, SnapshotTaken, AimReading, TamperStart, TamperEnd>;

struct AnalysisStats {
  std::uint64_t frames = 0;   // analysed
  std::uint64_t dropped = 0;  // skipped because the analysis was behind (live only)
  double busy_seconds = 0;    // spent in the detector
};

class VideoCapture {
 public:
  // Called from the capture's threads (supervisor, analysis, recording), one call at a time per
  // thread but not serialised across them: a sink must be thread-safe. A MotionStart that opens a
  // clip comes after its ClipOpened.
  using Sink = std::function<void(const VideoEvent&)>;

  VideoCapture(CaptureOptions options, Sink sink);
  ~VideoCapture();
  VideoCapture(const VideoCapture&) = delete;
  VideoCapture& operator=(const VideoCapture&) = delete;

  void start();
  void stop();  // returns once the pipeline is torn down

  std::uint64_t frames() const { return frames_.load(std::memory_order_relaxed); }
  bool running() const { return running_.load(std::memory_order_relaxed); }
  AnalysisStats analysis() const;
  // The next analysed frame is sent as a SnapshotTaken (masks burnt in, no box). Needs motion
  // analysis to be on (it is the analysis branch that carries frames out).
  void request_snapshot() { snapshot_requested_ = true; }
  // Tells the motion analysis that a light the device controls is switching now.
  void light_switching(std::chrono::milliseconds for_how_long);
  // Live tuning, with nothing restarted: new motion settings (zones, exclusions, sensitivity, sizes
  // and times) from the next analysed frame, keeping the detector's learnt background and an event
  // in progress; new privacy masks from the next frame into the mask element, and for every later
  // run. The pre-event buffer and the clip being cut carry on. False, and nothing changed, when
  // motion settings are given to a capture started without motion analysis (that needs a restart).
  bool retune(std::optional<MotionSettings> motion, std::vector<Polygon> privacy_masks);
  // While on, an AimReading is sent once a second of stream time (needs motion analysis).
  void aim(bool on) { aim_on_ = on; }
  // The next analysed frame becomes the tamper detector's reference (a cleaned dome, a camera
  // re-aimed on purpose); a tamper in progress ends, accepted. False when tamper detection is off.
  bool accept_view();
  // Continuous recording stops (the evidence store has no room it may free) and starts again;
  // the event clips go on. Nothing when there is no continuous recording.
  void pause_segments(const std::string& reason);
  void resume_segments();

 private:
  struct Run;
  void supervise();
  // Runs one pipeline until it fails, ends or stop() is called. Returns the reason it ended.
  std::string run_once();
  void on_frame(Run& run, ::_GstSample* sample);
  void queue_for_analysis(::_GstSample* sample, std::int64_t index);
  void keep_pixels(std::vector<std::uint8_t> pixels);  // under analysis_mutex_: a spare, up to four
  void on_encoded(::_GstSample* sample);
  bool sleep_unless_stopped(std::chrono::milliseconds delay);
  void analyse();
  void deliver(const MotionEvent& event);
  void close_analysis();  // lets the analysis finish what is queued, then joins it

  struct Frame {
    std::vector<std::uint8_t> pixels;  // the grey plane, then (colour) the U and V planes
    int width = 0, height = 0, stride = 0;
    int uv_stride = 0;  // 0: greyscale only
    std::size_t u_offset = 0, v_offset = 0;
    std::int64_t index = 0;
    std::chrono::nanoseconds pts{0};
  };
  std::vector<MotionEvent> detect(Frame& frame);

  CaptureOptions options_;
  Sink sink_;
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::int64_t> last_frame_ns_{0};  // steady clock
  std::mutex mutex_;
  std::condition_variable wake_;
  bool lost_ = false;  // supervisor thread only
  std::thread thread_;

  // Analysis: frames handed from the streaming thread to the analysis thread.
  mutable std::mutex analysis_mutex_;
  std::condition_variable analysis_ready_;
  std::deque<Frame> analysis_queue_;
  // Pixel buffers of analysed or dropped frames, for the next frames to fill: a new one each
  // frame cost an allocation, its pages faulted in and zeroed (pipeline_bench).
  std::vector<std::vector<std::uint8_t>> spare_pixels_;
  bool analysis_closing_ = false;
  AnalysisStats stats_;
  std::atomic<std::int64_t> light_until_ns_{-1};
  std::atomic<bool> snapshot_requested_{false};
  std::atomic<bool> aim_on_{false};
  std::optional<MotionSettings> pending_motion_;  // under analysis_mutex_: retune() for the analysis thread
  AimMeter aim_meter_;                            // analysis thread
  ::_GstElement* mask_element_ = nullptr;         // under mutex_: the running pipeline's mask element
  std::atomic<std::int64_t> last_pts_ns_{0};  // of the newest frame, for light_switching()
  std::optional<MotionDetector> detector_;
  std::optional<TamperDetector> tamper_;  // analysis thread
  std::atomic<bool> accept_view_{false};
  std::unique_ptr<ClipRecorder> recorder_;
  std::unique_ptr<SegmentRecorder> segments_;
  std::string last_caps_;  // recording thread only
  // Times that never go back, per branch (a looping file or a rebooted camera restarts its own).
  Timeline analysis_time_;   // streaming thread of the analysis branch
  Timeline recording_time_;  // recording thread
  std::thread analysis_thread_;
};

// gst_init once per process; safe from any thread.
void ensure_gstreamer();
// Lowers the calling thread's priority by `nice` (0: unchanged); threads it then creates inherit it.
void lower_priority(int nice);

}  // namespace assure::pipelines
