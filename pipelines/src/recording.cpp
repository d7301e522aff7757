#include "assure/pipelines/recording.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "assure/base/files.hpp"
#include "mp4_writer.hpp"

namespace assure::pipelines {
namespace fs = std::filesystem;

// ---- the pre-event ring -------------------------------------------------------------------------

PreEventRing::PreEventRing(std::chrono::nanoseconds keep, std::size_t max_bytes)
    : keep_(keep), max_bytes_(max_bytes) {}

void PreEventRing::clear() {
  units_.clear();
  keyframes_.clear();
  first_ = 0;
  bytes_ = 0;
}

std::chrono::nanoseconds PreEventRing::span() const {
  return units_.empty() ? std::chrono::nanoseconds{0} : units_.back().pts - units_.front().pts;
}

void PreEventRing::drop_front_group() {
  // Everything before the second keyframe: the front group.
  const std::size_t end = keyframes_.size() >= 2 ? keyframes_[1] : first_ + units_.size();
  while (first_ < end) {
    bytes_ -= units_.front().data.size();
    units_.pop_front();
    ++first_;
  }
  keyframes_.pop_front();
}

void PreEventRing::push(AccessUnit unit) {
  if (units_.empty() && !unit.keyframe) {  // a clip cannot start here: nothing decodes without its keyframe
    ++skipped_before_keyframe_;
    return;
  }
  if (unit.keyframe) keyframes_.push_back(first_ + units_.size());
  bytes_ += unit.data.size();
  units_.push_back(std::move(unit));
  const auto newest = units_.back().pts;
  // Keep from the last keyframe at or before newest - keep: drop a front group while the next
  // one already starts early enough.
  while (keyframes_.size() >= 2 && units_[keyframes_[1] - first_].pts <= newest - keep_) drop_front_group();
  while (bytes_ > max_bytes_ && keyframes_.size() >= 2) {
    drop_front_group();
    ++trimmed_for_bytes_;
  }
  if (bytes_ > max_bytes_ && !units_.back().keyframe) {
    // One group larger than the whole budget: give it up and wait for a keyframe.
    ++trimmed_for_bytes_;
    clear();
  }
}

std::size_t PreEventRing::start_for(std::chrono::nanoseconds from) const {
  std::size_t start = 0;
  for (std::size_t k : keyframes_) {
    if (units_[k - first_].pts > from) break;
    start = k - first_;
  }
  return start;
}

Result<std::string> encoder_description(const std::string& element, int bitrate_kbps) {
  if (element == "x264enc") {
    // Full-pixel motion search (subme=0): x264 then keeps no half-pixel planes per frame, which at
    // 1080p is 40 to 80 MB less memory for about 0.6 dB PSNR at 4 Mbit/s (measured on vtest at 1080p).
    return fmt::format("x264enc tune=zerolatency speed-preset=veryfast option-string=subme=0 bitrate={}", bitrate_kbps);
  }
  if (element == "v4l2h264enc") {  // the Pi's hardware encoder
    return fmt::format(
        "v4l2h264enc extra-controls=\"controls,video_bitrate={},repeat_sequence_header=1\" ! "
        "video/x-h264,level=(string)4",
        bitrate_kbps * 1000);
  }
  if (element == "openh264enc") {
    return fmt::format("openh264enc bitrate={} complexity=low", bitrate_kbps * 1000);
  }
  return fail(Errc::invalid_argument,
              fmt::format("unknown H.264 encoder '{}' (known: x264enc, v4l2h264enc, openh264enc)", element));
}

// ---- one clip being written ---------------------------------------------------------------------

namespace {

nlohmann::json box_json(const Box& b) { return nlohmann::json::array({b.x, b.y, b.w, b.h}); }

}  // namespace

nlohmann::json sealed_json(const std::optional<SealedFootage>& sealed) {
  if (!sealed) return nullptr;
  return {{"scheme", sealed->scheme}, {"plaintext_bytes", sealed->plaintext_bytes}, {"plaintext_sha256", sealed->plaintext_sha256}};
}

std::optional<SealedFootage> sealed_from_json(const nlohmann::json& sidecar) {
  if (!sidecar.is_object() || !sidecar.contains("sealed")) return std::nullopt;
  const nlohmann::json& s = sidecar.at("sealed");
  if (!s.is_object() || !s.contains("scheme") || !s.at("scheme").is_string() || !s.contains("plaintext_bytes") ||
      !s.at("plaintext_bytes").is_number_unsigned() || !s.contains("plaintext_sha256") || !s.at("plaintext_sha256").is_string()) {
    return std::nullopt;
  }
  return SealedFootage{s.at("scheme"), s.at("plaintext_bytes"), s.at("plaintext_sha256")};
}

struct ClipRecorder::Clip {
  std::string id;
  std::string continues;
  UtcTime start_utc;
  UtcTime end_utc;
  std::chrono::nanoseconds start_pts{0};
  std::chrono::nanoseconds last_key_pts{0};
  std::chrono::nanoseconds max_key_gap{0};
  std::chrono::milliseconds pre_event{0};
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t keyframes = 0;
  std::vector<ClipEvent> events;
  std::unique_ptr<Mp4Writer> writer;
};

ClipRecorder::ClipRecorder(RecordingOptions options, Opened opened, Closed closed)
    : options_(std::move(options)),
      opened_(std::move(opened)),
      closed_(std::move(closed)),
      ring_(std::chrono::duration_cast<std::chrono::nanoseconds>(options_.pre_event) +
                std::chrono::seconds{2},  // the analysis may report a start a little after the pictures
            options_.ring_max_bytes) {
  ensure_gstreamer();
}

ClipRecorder::~ClipRecorder() { stream_ended("stopped"); }

void ClipRecorder::set_caps(std::string caps) {
  std::lock_guard lock(mutex_);
  caps_ = std::move(caps);
}

std::chrono::nanoseconds ClipRecorder::pre_event() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(options_.pre_event);
}

UtcTime ClipRecorder::utc_of(std::chrono::nanoseconds pts, UtcTime fallback) const {
  if (options_.utc_origin) {
    return *options_.utc_origin + std::chrono::duration_cast<std::chrono::system_clock::duration>(pts);
  }
  if (!ring_.units().empty()) {
    const AccessUnit& last = ring_.units().back();
    return last.utc + std::chrono::duration_cast<std::chrono::system_clock::duration>(pts - last.pts);
  }
  return fallback;
}

std::string ClipRecorder::new_id(UtcTime start) {
  const std::string base = fmt::format("{}-{}-{}", options_.device_id, options_.camera_id, utc_compact(start));
  std::string id = base;
  for (unsigned n = 2; id == last_id_ || fs::exists(options_.dir / (id + ".mp4")) ||
                       fs::exists(options_.dir / (id + ".mp4.part"));
       ++n) {
    id = fmt::format("{}-{}", base, n);
  }
  last_id_ = id;
  return id;
}

void ClipRecorder::push(AccessUnit unit) {
  std::lock_guard lock(mutex_);
  if (options_.utc_origin) {
    unit.utc = *options_.utc_origin + std::chrono::duration_cast<std::chrono::system_clock::duration>(unit.pts);
  }
  const bool tail_over = clip_ && !active_ && tail_until_ && unit.pts > *tail_until_;
  const bool split = clip_ && !tail_over && unit.keyframe && unit.pts - clip_->start_pts >= options_.max_clip;
  std::string split_from;
  if (tail_over) {
    close("tail ended");
  } else if (split) {
    split_from = clip_->id;
    close("split at max_clip");
  } else if (clip_) {
    write(unit);
  }
  const bool waiting = pending_start_.has_value() && !clip_;
  ring_.push(std::move(unit));
  if (ring_.units().empty()) return;
  if (split) {
    open(ring_.units().size() - 1, split_from, ring_.units().back().pts);
  } else if (waiting) {
    const auto from = *pending_start_;
    pending_start_.reset();
    open(ring_.start_for(from), "", from + pre_event());
  }
}

void ClipRecorder::motion(const MotionStart& start) {
  std::lock_guard lock(mutex_);
  ClipEvent event;
  event.start_frame = start.start_frame;
  event.start_utc = utc_of(start.start_pts, std::chrono::system_clock::now());
  event.box = start.box;
  active_ = event;
  tail_until_.reset();
  if (clip_) return;  // during the tail: the clip goes on
  const auto from = start.start_pts - pre_event();
  if (ring_.units().empty()) {
    pending_start_ = from;  // no picture encoded yet: open with the first keyframe
    return;
  }
  open(ring_.start_for(from), "", start.start_pts);
}

void ClipRecorder::motion(const MotionEnd& end) {
  std::lock_guard lock(mutex_);
  if (active_) {
    active_->end_frame = end.end_frame;
    active_->end_utc = utc_of(end.end_pts, std::chrono::system_clock::now());
    active_->box = end.box;
    if (clip_) clip_->events.push_back(*active_);
    active_.reset();
  }
  tail_until_ = end.end_pts + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.post_event);
}

void ClipRecorder::stream_ended(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (clip_) close(reason);
  ring_.clear();
  caps_.clear();
  active_.reset();
  tail_until_.reset();
  pending_start_.reset();
}

void ClipRecorder::open(std::size_t from_index, std::string continues, std::chrono::nanoseconds motion_pts) {
  const AccessUnit& first = ring_.units()[from_index];
  auto clip = std::make_unique<Clip>();
  clip->start_utc = first.utc;
  clip->id = new_id(first.utc);
  clip->continues = std::move(continues);
  clip->start_pts = first.pts;
  clip->last_key_pts = first.pts;
  clip->pre_event = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(std::chrono::nanoseconds{0}, motion_pts - first.pts));

  clip->writer = std::make_unique<Mp4Writer>(
      options_.dir / (clip->id + ".mp4"), caps_,
      Mp4Naming{clip->id,
                fmt::format("assure-edge evidence clip {}; device {}; camera {}; UTC start {}", clip->id,
                            options_.device_id, options_.camera_id, utc_iso8601(clip->start_utc)),
                clip->start_utc},
      std::min(first.dts, first.pts), options_.sink);
  // The sidecar from the start, so a clip cut short by a power loss can be salvaged with its
  // times (clip_salvage.hpp); the finished clip's sidecar replaces it. Not being able to write it
  // costs only that: salvage then estimates the start from the file.
  (void)base::write_durably(options_.dir / (clip->id + ".json"),
                            nlohmann::json{{"clip", clip->id},
                                           {"file", clip->writer->part().filename().string()},
                                           {"device", options_.device_id},
                                           {"camera", options_.camera_id},
                                           {"utc_start", utc_iso8601(clip->start_utc)},
                                           {"state", "recording"},
                                           {"pre_event_ms", clip->pre_event.count()},
                                           {"continues", clip->continues.empty() ? nlohmann::json(nullptr)
                                                                                 : nlohmann::json(clip->continues)},
                                           {"video", caps_},
                                           {"sealing", static_cast<bool>(options_.sink)}}
                                    .dump(2) + "\n");
  clip_ = std::move(clip);
  opened_(ClipOpened{clip_->id, clip_->writer->part(), clip_->start_utc, clip_->pre_event, clip_->continues});
  for (std::size_t i = from_index; i < ring_.units().size(); ++i) write(ring_.units()[i]);
}

void ClipRecorder::write(const AccessUnit& unit) {
  Clip& clip = *clip_;
  if (unit.keyframe) {
    clip.max_key_gap = std::max(clip.max_key_gap, unit.pts - clip.last_key_pts);
    clip.last_key_pts = unit.pts;
    ++clip.keyframes;
  }
  ++clip.frames;
  clip.bytes += unit.data.size();
  clip.end_utc = unit.utc + std::chrono::duration_cast<std::chrono::system_clock::duration>(unit.duration);
  clip.writer->write(unit);
}

void ClipRecorder::close(const std::string& reason) {
  std::unique_ptr<Clip> clip = std::move(clip_);
  if (active_) clip->events.push_back(*active_);  // still going: it continues in the next clip
  ClipClosed closed;
  closed.id = clip->id;
  closed.sidecar = options_.dir / (clip->id + ".json");
  closed.start_utc = clip->start_utc;
  closed.end_utc = clip->end_utc;
  closed.frames = clip->frames;
  closed.bytes = clip->bytes;
  closed.events = clip->events;
  closed.reason = reason;
  closed.continues = clip->continues;

  // What was written stays as .part on failure, for the evidence store; the sidecar says why.
  const std::string& error = clip->writer->finish();
  closed.file = clip->writer->current();
  closed.sealed = clip->writer->sealed();

  nlohmann::json events = nlohmann::json::array();
  for (const ClipEvent& e : closed.events) {
    nlohmann::json j{{"start_frame", e.start_frame},
                     {"end_frame", e.end_frame},
                     {"utc_start", utc_iso8601(e.start_utc)},
                     {"utc_end", e.end_utc ? nlohmann::json(utc_iso8601(*e.end_utc)) : nlohmann::json(nullptr)},
                     {"box", box_json(e.box)}};
    events.push_back(std::move(j));
  }
  nlohmann::json sidecar{
      {"clip", closed.id},
      {"file", closed.file.filename().string()},
      {"device", options_.device_id},
      {"camera", options_.camera_id},
      {"utc_start", utc_iso8601(closed.start_utc)},
      {"utc_end", utc_iso8601(closed.end_utc)},
      {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(closed.end_utc - closed.start_utc).count()},
      {"frames", closed.frames},
      {"bytes", closed.bytes},
      {"keyframes", clip->keyframes},
      {"max_keyframe_gap_ms", std::chrono::duration_cast<std::chrono::milliseconds>(clip->max_key_gap).count()},
      {"pre_event_ms", clip->pre_event.count()},
      {"reason", closed.reason},
      {"continues", closed.continues.empty() ? nlohmann::json(nullptr) : nlohmann::json(closed.continues)},
      {"video", caps_},
      {"events", std::move(events)},
      {"sealed", sealed_json(closed.sealed)},
      {"error", error.empty() ? nlohmann::json(nullptr) : nlohmann::json(error)}};
  closed.error = error;
  if (auto written = base::write_durably(closed.sidecar, sidecar.dump(2) + "\n"); !written && closed.error.empty()) {
    closed.error = written.error().message;
  }
  closed_(closed);
}

}  // namespace assure::pipelines
