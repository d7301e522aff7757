#pragma once
// Continuous recording: the recording branch's encoded stream cut into segments of a fixed length,
// back to back, beside the event clips (which go on as before). A segment starts at a keyframe and
// ends just before the first keyframe at or past `length` from its start; that keyframe starts the
// next, so no picture is lost or repeated across a boundary. Each is a fragmented MP4 (written as
// .part until finished, like a clip) with a sidecar <id>.json naming device, camera, UTC start and
// end, frames, its first and last picture's stream times and the segment it follows; after the
// stream stopped (video lost, restart) "follows" is null: a gap the chain shows. Knows nothing of
// signing, retention or MQTT.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "assure/pipelines/recording.hpp"

namespace assure::pipelines {

struct SegmentOptions {
  std::filesystem::path dir;  // this camera's segments
  std::string device_id = "device";
  std::string camera_id = "cam0";
  std::chrono::milliseconds length{60000};
  // As RecordingOptions::utc_origin: replaying a file, the UTC of stream time 0.
  std::optional<UtcTime> utc_origin;
  FootageSinkFactory sink;  // as RecordingOptions::sink
};

struct SegmentClosed {
  std::string id;
  std::filesystem::path file;     // the finished MP4 (the .part when it failed)
  std::filesystem::path sidecar;  // its JSON
  UtcTime start_utc;
  UtcTime end_utc;
  std::chrono::nanoseconds first_pts{0};  // stream time of its first picture
  std::chrono::nanoseconds end_pts{0};    // ... and just after its last
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::string follows;  // the segment just before it, back to back; empty after a gap
  std::string reason;   // "length reached", "video lost: ...", "stopped", "paused: ..."
  std::string error;    // empty when the segment and its sidecar are written
  std::optional<SealedFootage> sealed;  // a sealed segment: what it opens to
};

class SegmentRecorder {
 public:
  using Closed = std::function<void(const SegmentClosed&)>;
  SegmentRecorder(SegmentOptions options, Closed closed);
  ~SegmentRecorder();
  SegmentRecorder(const SegmentRecorder&) = delete;
  SegmentRecorder& operator=(const SegmentRecorder&) = delete;

  void set_caps(std::string caps);
  void push(const AccessUnit& unit);  // from the recording thread
  // The stream stopped: the open segment is finished with what it has; the next follows nothing.
  void stream_ended(const std::string& reason);
  // Stop writing (the evidence store has no room it may free): the open segment is finished and
  // pictures are dropped until resume(); the first segment after follows nothing.
  void pause(const std::string& reason);
  void resume();
  bool paused() const;

 private:
  struct Segment;
  void open(const AccessUnit& first);
  void close(const std::string& reason);

  SegmentOptions options_;
  Closed closed_;
  mutable std::mutex mutex_;
  std::string caps_;
  std::unique_ptr<Segment> segment_;
  std::string last_id_;     // the segment the next one follows, when back to back
  std::string last_named_;  // the last id handed out (two segments in one second stay apart)
  bool paused_ = false;
};

}  // namespace assure::pipelines
