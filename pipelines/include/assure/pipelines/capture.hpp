#pragma once
// The capture: one source, supervised. It reports when frames flow, when they stop (an error, the
// end of a file, a camera unplugged) and when they come back, and retries with backoff in between;
// a failing source never takes the daemon down.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "assure/pipelines/source.hpp"

namespace assure::pipelines {

struct CaptureOptions {
  SourceSpec source;
  bool realtime = true;  // pace a file at its frame rate, as a camera would; false: as fast as possible
  int analysis_width = 320;
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{30000};
  // A source that delivers no frame for this long is lost, even without an error (a hung camera).
  std::chrono::milliseconds stall_timeout{10000};
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
using VideoEvent = std::variant<VideoStarted, VideoLost>;

class VideoCapture {
 public:
  using Sink = std::function<void(const VideoEvent&)>;  // called on the capture's own thread

  VideoCapture(CaptureOptions options, Sink sink);
  ~VideoCapture();
  VideoCapture(const VideoCapture&) = delete;
  VideoCapture& operator=(const VideoCapture&) = delete;

  void start();
  void stop();  // returns once the pipeline is torn down

  std::uint64_t frames() const { return frames_.load(std::memory_order_relaxed); }
  bool running() const { return running_.load(std::memory_order_relaxed); }

 private:
  struct Run;
  void supervise();
  // Runs one pipeline until it fails, ends or stop() is called. Returns the reason it ended.
  std::string run_once();
  void on_frame(Run& run);
  bool sleep_unless_stopped(std::chrono::milliseconds delay);

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
};

// gst_init once per process; safe from any thread.
void ensure_gstreamer();

}  // namespace assure::pipelines
