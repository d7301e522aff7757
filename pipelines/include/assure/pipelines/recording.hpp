#pragma once
// Evidence clips from the recording branch. Encoded H.264 access units flow into an in-memory
// pre-event ring bounded by seconds and bytes. Motion opens a clip at the keyframe at or before
// (motion start - pre_event); it runs through the event and a post-event tail, motion during the
// tail extends it, and at max_clip it is split at the next keyframe so the next clip carries on
// without a frame lost or repeated. Clips are MP4 (mp4mux, fragmented so a clip cut short by a
// power failure still plays up to its last second) with the UTC start as the file's creation time
// and in its comment, and a sidecar JSON naming device, camera, times, frame count and the events
// inside. Knows nothing of MQTT.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"
#include "assure/pipelines/footage_sink.hpp"
#include "assure/pipelines/motion.hpp"

namespace assure::pipelines {

using UtcTime = std::chrono::system_clock::time_point;

// One encoded picture (H.264 AVC, one access unit) with its times.
struct AccessUnit {
  std::vector<std::uint8_t> data;
  std::chrono::nanoseconds pts{0};
  std::chrono::nanoseconds dts{0};
  std::chrono::nanoseconds duration{0};
  bool keyframe = false;
  UtcTime utc;  // when the picture was taken
};

// The pre-event ring: always starts at a keyframe and holds at least `keep` of video (when that
// much has arrived) and never more than max_bytes. Whole keyframe groups are dropped from the
// front; when a single group outgrows max_bytes (an encoder that stopped sending keyframes) the
// ring empties and waits for the next keyframe rather than grow.
class PreEventRing {
 public:
  PreEventRing(std::chrono::nanoseconds keep, std::size_t max_bytes);

  void push(AccessUnit unit);
  void clear();
  // Index of the first unit to copy for a clip starting at `from`: the last keyframe at or before
  // it, or the front when `from` is older than the ring.
  std::size_t start_for(std::chrono::nanoseconds from) const;

  const std::deque<AccessUnit>& units() const { return units_; }
  std::size_t bytes() const { return bytes_; }
  std::chrono::nanoseconds span() const;  // newest pts - oldest pts
  std::uint64_t trimmed_for_bytes() const { return trimmed_for_bytes_; }  // groups dropped early
  std::uint64_t skipped_before_keyframe() const { return skipped_before_keyframe_; }

 private:
  void drop_front_group();

  std::chrono::nanoseconds keep_;
  std::size_t max_bytes_;
  std::deque<AccessUnit> units_;
  std::deque<std::size_t> keyframes_;  // positions in units_ counted from first_
  std::size_t first_ = 0;              // absolute position of units_.front()
  std::size_t bytes_ = 0;
  std::uint64_t trimmed_for_bytes_ = 0;
  std::uint64_t skipped_before_keyframe_ = 0;
};

struct RecordingOptions {
  std::filesystem::path dir;  // clips are written here
  std::string device_id = "device";
  std::string camera_id = "cam0";
  std::chrono::milliseconds pre_event{10000};
  std::chrono::milliseconds post_event{20000};
  std::chrono::milliseconds max_clip{300000};
  std::chrono::milliseconds keyframe_interval{2000};  // the encoder is made to send one this often
  std::size_t ring_max_bytes = 48u << 20;
  // The encoder as a gst-launch fragment taking raw video and giving H.264 (from the board file).
  std::string encoder = "x264enc tune=zerolatency speed-preset=veryfast bitrate=2048";
  // Replaying a file: the UTC of stream time 0, so clip times are origin + stream time. Unset
  // (live): each picture is stamped with the wall clock when it is encoded.
  std::optional<UtcTime> utc_origin;
  // Where each clip's bytes go instead of a plain file (a home kit seals them); empty: plain MP4.
  FootageSinkFactory sink;
};

struct ClipEvent {  // one motion event inside a clip
  std::int64_t start_frame = 0;
  std::int64_t end_frame = -1;  // -1: still going when the clip closed (it continues in the next)
  UtcTime start_utc;
  std::optional<UtcTime> end_utc;
  Box box;
};

struct ClipOpened {
  std::string id;
  std::filesystem::path file;  // being written
  UtcTime start_utc;
  std::chrono::milliseconds pre_event{0};  // from the clip's start to the motion that opened it
  std::string continues;  // after a split: the clip this one carries on from
};

struct ClipClosed {
  std::string id;
  std::filesystem::path file;     // the finished MP4
  std::filesystem::path sidecar;  // its JSON
  UtcTime start_utc;
  UtcTime end_utc;
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::vector<ClipEvent> events;
  std::string reason;  // "tail ended", "split at max_clip", "video lost: ...", "stopped"
  std::string continues;  // id of the clip this one carries on from after a split
  std::string error;   // empty when the clip and sidecar are written; otherwise what failed
  std::vector<std::string> from_segments;  // an export: the continuous segments it was cut from
  std::optional<SealedFootage> sealed;     // a sealed clip: what it opens to
};

// A sidecar's "sealed" member for a sealed file, null for a plain one; and back (nullopt when
// absent, null or malformed).
nlohmann::json sealed_json(const std::optional<SealedFootage>& sealed);
std::optional<SealedFootage> sealed_from_json(const nlohmann::json& sidecar);

// Decides when clips open and close, and writes them. Fed from two threads: encoded pictures from
// the recording branch and motion events from the analysis; both calls are cheap except where a
// clip is finished (an EOS through the muxer, a rename, an fsync).
class ClipRecorder {
 public:
  using Opened = std::function<void(const ClipOpened&)>;
  using Closed = std::function<void(const ClipClosed&)>;

  ClipRecorder(RecordingOptions options, Opened opened, Closed closed);
  ~ClipRecorder();
  ClipRecorder(const ClipRecorder&) = delete;
  ClipRecorder& operator=(const ClipRecorder&) = delete;

  // The caps of the encoded stream (with its codec data), set before the first picture of a run.
  void set_caps(std::string caps);
  void push(AccessUnit unit);
  void motion(const MotionStart& start);
  void motion(const MotionEnd& end);
  // The stream stopped (lost, ended, stopping): an open clip is finished with what it has and the
  // ring emptied, as the next run's times start again.
  void stream_ended(const std::string& reason);


 private:
  struct Clip;
  // Opens a clip with the ring from from_index on; motion_pts is when the motion began.
  void open(std::size_t from_index, std::string continues, std::chrono::nanoseconds motion_pts);
  std::chrono::nanoseconds pre_event() const;
  void close(const std::string& reason);
  void write(const AccessUnit& unit);
  UtcTime utc_of(std::chrono::nanoseconds pts, UtcTime fallback) const;
  std::string new_id(UtcTime start);

  RecordingOptions options_;
  Opened opened_;
  Closed closed_;
  mutable std::mutex mutex_;
  PreEventRing ring_;
  std::string caps_;
  std::unique_ptr<Clip> clip_;
  std::optional<ClipEvent> active_;  // the event in progress (carried over a split)
  std::optional<std::chrono::nanoseconds> tail_until_;
  std::optional<std::chrono::nanoseconds> pending_start_;  // motion before the first picture
  std::string last_id_;
};

// The gst-launch fragment for a board's H.264 encoder element at a bitrate, set for low latency
// and no B-frames (a clip must start cleanly at any keyframe).
Result<std::string> encoder_description(const std::string& element, int bitrate_kbps);

// Sets the creation (and modification) time of an MP4's movie, track and media headers, which
// players and ffprobe show as creation_time. mp4mux writes the time it ran; a clip starts earlier.
Result<void> set_mp4_creation_time(const std::filesystem::path& file, UtcTime when);

}  // namespace assure::pipelines
