#include "assure/pipelines/segments.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "assure/base/files.hpp"
#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "mp4_writer.hpp"

namespace assure::pipelines {
namespace fs = std::filesystem;

struct SegmentRecorder::Segment {
  std::string id;
  std::string follows;
  UtcTime start_utc;
  UtcTime end_utc;
  std::chrono::nanoseconds first_pts{0};
  std::chrono::nanoseconds end_pts{0};
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::unique_ptr<Mp4Writer> writer;
};

SegmentRecorder::SegmentRecorder(SegmentOptions options, Closed closed)
    : options_(std::move(options)), closed_(std::move(closed)) {
  ensure_gstreamer();
}

SegmentRecorder::~SegmentRecorder() { stream_ended("stopped"); }

void SegmentRecorder::set_caps(std::string caps) {
  std::lock_guard lock(mutex_);
  caps_ = std::move(caps);
}

bool SegmentRecorder::paused() const {
  std::lock_guard lock(mutex_);
  return paused_;
}

void SegmentRecorder::pause(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (segment_) close("paused: " + reason);
  paused_ = true;
  last_id_.clear();
}

void SegmentRecorder::resume() {
  std::lock_guard lock(mutex_);
  paused_ = false;
}

void SegmentRecorder::stream_ended(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (segment_) close(reason);
  last_id_.clear();  // the next run's first segment follows nothing: a gap
  caps_.clear();
}

void SegmentRecorder::push(const AccessUnit& in) {
  std::lock_guard lock(mutex_);
  if (paused_) return;
  UtcTime utc = in.utc;
  if (options_.utc_origin) {
    utc = *options_.utc_origin + std::chrono::duration_cast<std::chrono::system_clock::duration>(in.pts);
  }
  if (segment_ && in.keyframe && in.pts - segment_->first_pts >= options_.length) close("length reached");
  if (!segment_) {
    if (!in.keyframe) return;  // nothing decodes before a keyframe: wait for one
    open(in);
  }
  Segment& s = *segment_;
  ++s.frames;
  s.bytes += in.data.size();
  s.end_pts = in.pts + in.duration;
  s.end_utc = utc + std::chrono::duration_cast<std::chrono::system_clock::duration>(in.duration);
  s.writer->write(in);
}

void SegmentRecorder::open(const AccessUnit& first) {
  auto segment = std::make_unique<Segment>();
  const UtcTime start =
      options_.utc_origin
          ? *options_.utc_origin + std::chrono::duration_cast<std::chrono::system_clock::duration>(first.pts)
          : first.utc;
  const std::string base = fmt::format("{}-{}-seg-{}", options_.device_id, options_.camera_id, utc_compact(start));
  std::string id = base;
  for (unsigned n = 2; id == last_named_ || fs::exists(options_.dir / (id + ".mp4")) ||
                       fs::exists(options_.dir / (id + ".mp4.part"));
       ++n) {
    id = fmt::format("{}-{}", base, n);
  }
  last_named_ = id;
  segment->id = id;
  segment->follows = last_id_;
  segment->first_pts = first.pts;
  segment->start_utc = start;
  segment->writer = std::make_unique<Mp4Writer>(
      options_.dir / (id + ".mp4"), caps_,
      Mp4Naming{id,
                fmt::format("assure-edge continuous recording {}; device {}; camera {}; UTC start {}", id,
                            options_.device_id, options_.camera_id, utc_iso8601(start)),
                start},
      std::min(first.dts, first.pts), options_.sink);
  // As for a clip: the opening sidecar lets a segment cut short by a power loss be salvaged.
  (void)base::write_durably(options_.dir / (id + ".json"),
                            nlohmann::json{{"segment", id},
                                           {"file", segment->writer->part().filename().string()},
                                           {"device", options_.device_id},
                                           {"camera", options_.camera_id},
                                           {"utc_start", utc_iso8601(start)},
                                           {"state", "recording"},
                                           {"follows", last_id_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_id_)},
                                           {"video", caps_},
                                           {"sealing", static_cast<bool>(options_.sink)}}
                                    .dump(2) + "\n");
  segment_ = std::move(segment);
}

void SegmentRecorder::close(const std::string& reason) {
  std::unique_ptr<Segment> segment = std::move(segment_);
  SegmentClosed closed;
  closed.id = segment->id;
  closed.sidecar = options_.dir / (segment->id + ".json");
  closed.start_utc = segment->start_utc;
  closed.end_utc = segment->end_utc;
  closed.first_pts = segment->first_pts;
  closed.end_pts = segment->end_pts;
  closed.frames = segment->frames;
  closed.bytes = segment->bytes;
  closed.follows = segment->follows;
  closed.reason = reason;
  closed.error = segment->writer->finish();
  closed.file = segment->writer->current();
  closed.sealed = segment->writer->sealed();
  const nlohmann::json sidecar{
      {"segment", closed.id},
      {"file", closed.file.filename().string()},
      {"device", options_.device_id},
      {"camera", options_.camera_id},
      {"utc_start", utc_iso8601(closed.start_utc)},
      {"utc_end", utc_iso8601(closed.end_utc)},
      {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(closed.end_pts - closed.first_pts).count()},
      {"first_pts_ns", closed.first_pts.count()},
      {"end_pts_ns", closed.end_pts.count()},
      {"frames", closed.frames},
      {"bytes", closed.bytes},
      {"follows", closed.follows.empty() ? nlohmann::json(nullptr) : nlohmann::json(closed.follows)},
      {"reason", reason},
      {"video", caps_},
      {"sealed", sealed_json(closed.sealed)},
      {"error", closed.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(closed.error)}};
  if (auto written = base::write_durably(closed.sidecar, sidecar.dump(2) + "\n"); !written && closed.error.empty()) {
    closed.error = written.error().message;
  }
  // The next follows this one only when it is whole; a failed segment leaves a gap.
  last_id_ = closed.error.empty() ? closed.id : std::string{};
  closed_(closed);
}

}  // namespace assure::pipelines
