#include "app/evidence_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "assure/base/utc.hpp"
#include "assure/pipelines/footage_export.hpp"

namespace assure::app {

EvidenceKeeper::EvidenceKeeper(std::unique_ptr<evidence::Store> store, std::string camera,
                               std::shared_ptr<const hal::Clock> clock, std::chrono::milliseconds sweep_every, Hooks hooks)
    : store_(std::move(store)), camera_(std::move(camera)), clock_(std::move(clock)), sweep_every_(sweep_every),
      hooks_(std::move(hooks)) {}

EvidenceKeeper::~EvidenceKeeper() { stop(); }

void EvidenceKeeper::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void EvidenceKeeper::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EvidenceKeeper::submit(pipelines::SegmentClosed segment) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(segment));
  }
  wake_.notify_all();
}

bool EvidenceKeeper::handles(const std::string& command) {
  return command == "hold" || command == "release" || command == "export";
}

void EvidenceKeeper::request(uplink::Command command) {
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(command));
  }
  wake_.notify_all();
}

EvidenceKeeper::Stats EvidenceKeeper::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

uplink::Event EvidenceKeeper::event(EventType type, Severity severity) const {
  return uplink::make_event(type, "camera:" + camera_, severity, clock_->utc());
}

void EvidenceKeeper::run() {
  pthread_setname_np(pthread_self(), "evidence-store");
  sweep();  // what the last run left over its limits, before anything new is written
  std::unique_lock lock(mutex_);
  auto next_sweep = std::chrono::steady_clock::now() + sweep_every_;
  while (true) {
    wake_.wait_until(lock, next_sweep, [&] { return stopping_ || !queue_.empty() || !requests_.empty(); });
    const bool swept_due = std::chrono::steady_clock::now() >= next_sweep;
    if (queue_.empty() && requests_.empty() && stopping_) break;
    std::deque<pipelines::SegmentClosed> batch = std::exchange(queue_, {});
    std::deque<uplink::Command> asked = std::exchange(requests_, {});
    lock.unlock();
    for (const auto& segment : batch) seal(segment);
    for (const auto& command : asked) carry_out(command);
    if (!batch.empty() || !asked.empty() || swept_due) sweep();
    lock.lock();
    // Stopped, every few seconds: each is footage not recorded, and room can come at any time (a
    // clip received, a hold released).
    const auto every = stats_.stopped ? std::min<std::chrono::milliseconds>(sweep_every_, std::chrono::seconds{5}) : sweep_every_;
    if (swept_due || stats_.stopped) next_sweep = std::min(next_sweep, std::chrono::steady_clock::now() + every);
    if (swept_due) next_sweep = std::chrono::steady_clock::now() + every;
  }
}

void EvidenceKeeper::seal(const pipelines::SegmentClosed& segment) {
  if (!segment.error.empty()) return;  // reported by the video desk; kept as .part, never sealed
  auto sealed = store_->seal(segment);
  std::lock_guard lock(mutex_);
  if (!sealed) {
    ++stats_.seal_failures;
    spdlog::error("segment {}: cannot be sealed: {}", segment.id, sealed.error().message);
    return;
  }
  ++stats_.sealed;
  spdlog::debug("segment {}: sealed as link {} of camera {}'s chain{}", segment.id, sealed->index, camera_,
                sealed->after_gap ? " (after a gap)" : "");
}

void EvidenceKeeper::sweep() {
  const evidence::Swept swept = store_->sweep(clock_->utc());
  const auto& plan = swept.plan;
  if (!plan.deletions.empty() || !swept.failed.empty()) {
    std::set<std::string> reasons;
    for (const auto& d : plan.deletions) reasons.insert(d.reason);
    std::uint64_t bytes = 0;
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& d : plan.deletions) {
      bytes += d.bytes;
      if (ids.size() < 100) ids.push_back(d.id);  // the audit log has them all
    }
    spdlog::info("evidence: retention deleted {} recording(s), {} bytes ({})", plan.deletions.size(), bytes,
                 fmt::join(reasons, "; "));
    auto e = event(EventType::footage_deleted, swept.failed.empty() ? Severity::info : Severity::warning);
    e.details = {{"count", plan.deletions.size()},
                 {"bytes", bytes},
                 {"reasons", reasons},
                 {"ids", ids},
                 {"failed", swept.failed},
                 {"bytes_kept", plan.bytes_after},
                 {"bytes_protected", plan.protected_bytes}};
    hooks_.raise(std::move(e));
  }
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    stats_.deleted += plan.deletions.size();
    changed = stats_.stopped != plan.stop_recording;
    stats_.stopped = plan.stop_recording;
  }
  if (!changed) return;
  if (plan.stop_recording) {
    spdlog::critical("evidence: CONTINUOUS RECORDING STOPPED for camera {}: {}", camera_, plan.why);
    auto e = event(EventType::recording_stopped, Severity::critical);
    e.details = {{"why", plan.why}, {"bytes_kept", plan.bytes_after}, {"bytes_protected", plan.protected_bytes}};
    hooks_.raise(std::move(e));
  } else {
    spdlog::warn("evidence: continuous recording resumed for camera {}", camera_);
    auto e = event(EventType::recording_resumed, Severity::info);
    e.details = {{"bytes_kept", plan.bytes_after}};
    hooks_.raise(std::move(e));
  }
  if (hooks_.recording) hooks_.recording(plan.stop_recording, plan.why);
}

namespace {

Result<evidence::UtcTime> utc_arg(const nlohmann::json& args, const char* name) {
  const std::string text = args.contains(name) && args.at(name).is_string() ? args.at(name).get<std::string>() : "";
  if (auto t = parse_utc_iso8601(text)) return *t;
  return fail(Errc::invalid_argument, fmt::format("{} must be a UTC time such as 2026-12-01T22:10:00Z", name));
}

std::string text_arg(const nlohmann::json& args, const char* name) {
  return args.contains(name) && args.at(name).is_string() ? args.at(name).get<std::string>() : "";
}

}  // namespace

void EvidenceKeeper::carry_out(const uplink::Command& command) {
  Result<nlohmann::json> done = command.name == "hold"      ? hold(command.args)
                                : command.name == "release" ? release(command.args)
                                                            : export_footage(command.args);
  if (!done) spdlog::error("command {}: {}", command.name, done.error().message);
  if (hooks_.reply) hooks_.reply(command, done.has_value(), done ? "" : done.error().message, done ? *done : nullptr);
}

Result<nlohmann::json> EvidenceKeeper::hold(const nlohmann::json& args) {
  auto from = utc_arg(args, "from");
  if (!from) return std::unexpected(from.error());
  auto to = utc_arg(args, "to");
  if (!to) return std::unexpected(to.error());
  const evidence::Hold h{text_arg(args, "reference"), text_arg(args, "camera"), *from, *to};
  const std::string by = text_arg(args, "by"), reason = text_arg(args, "reason");
  if (auto held = store_->hold(h, by, reason); !held) return std::unexpected(held.error());
  spdlog::warn("evidence: HOLD {} on {} to {} (camera {}) by {}: {}", h.reference, utc_iso8601(h.from), utc_iso8601(h.to),
               h.camera.empty() ? "all" : h.camera, by, reason);
  auto e = event(EventType::evidence_held, Severity::info);
  e.details = {{"reference", h.reference}, {"from", utc_iso8601(h.from)}, {"to", utc_iso8601(h.to)},
               {"camera", h.camera}, {"by", by}, {"reason", reason}};
  hooks_.raise(std::move(e));
  return nlohmann::json{{"reference", h.reference}, {"holds", store_->holds().size()}};
}

Result<nlohmann::json> EvidenceKeeper::release(const nlohmann::json& args) {
  const std::string reference = text_arg(args, "reference"), by = text_arg(args, "by");
  if (auto released = store_->release(reference, by); !released) return std::unexpected(released.error());
  spdlog::warn("evidence: hold {} released by {}", reference, by);
  auto e = event(EventType::evidence_released, Severity::info);
  e.details = {{"reference", reference}, {"by", by}};
  hooks_.raise(std::move(e));
  return nlohmann::json{{"reference", reference}, {"holds", store_->holds().size()}};
}

// An export: cut from the segments, written into the clips folder as a clip whose manifest names
// the segments, signed and sent on the clip path; audited as a disclosure, with its reason.
Result<nlohmann::json> EvidenceKeeper::export_footage(const nlohmann::json& args) {
  auto from = utc_arg(args, "from");
  if (!from) return std::unexpected(from.error());
  auto to = utc_arg(args, "to");
  if (!to) return std::unexpected(to.error());
  // Two hours of 1080p is ~3.6 GB on the card and in the outbox: longer is asked for in parts.
  if (*to <= *from || *to - *from > std::chrono::hours{2}) {
    return fail(Errc::invalid_argument, "an export must end after it starts and span at most 2 hours (ask for more in parts)");
  }
  const std::string requester = text_arg(args, "requester"), reason = text_arg(args, "reason");
  std::vector<evidence::Footage> footage = store_->footage();
  std::erase_if(footage, [](const auto& f) { return f.kind != evidence::Footage::Kind::segment; });
  std::sort(footage.begin(), footage.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  // Sealed footage opens only with the control room's key: the device cannot cut what it cannot
  // read. (No command yet sends such segments whole, for the control room to open and cut: a home
  // kit records event clips by default, and those are sent as they are made.)
  if (const auto sealed = std::find_if(footage.begin(), footage.end(),
                                       [&](const auto& f) { return f.sealed && f.end > *from && f.start < *to; });
      sealed != footage.end()) {
    return fail(Errc::unsupported,
                fmt::format("the footage from {} to {} is sealed for the control room (evidence.encrypt), starting with "
                            "segment {}: the device cannot read it to cut an export",
                            utc_iso8601(*from), utc_iso8601(*to), sealed->id));
  }
  std::vector<pipelines::ExportSource> sources;
  for (const auto& f : footage) sources.push_back({f.id, store_->segment_file(f.id), f.start});
  const std::string id = store_->export_id(*from);
  const auto file = store_->clips_dir() / (id + ".mp4");
  auto cut = pipelines::export_footage(
      sources, *from, *to, file, id,
      fmt::format("assure-edge export {}; camera {}; {} to {}; for {}: {}", id, camera_, utc_iso8601(*from),
                  utc_iso8601(*to), requester, reason));
  if (!cut) return std::unexpected(cut.error());
  pipelines::ClipClosed clip;
  clip.id = id;
  clip.file = cut->file;
  clip.sidecar = store_->clips_dir() / (id + ".json");
  clip.start_utc = cut->start_utc;
  clip.end_utc = cut->end_utc;
  clip.frames = cut->frames;
  clip.bytes = cut->bytes;
  clip.reason = fmt::format("export for {}: {}", requester, reason);
  clip.from_segments = cut->segments;
  if (auto noted = store_->note_export(clip, requester, reason, *from, *to); !noted) return std::unexpected(noted.error());
  {
    std::lock_guard lock(mutex_);
    ++stats_.exports;
  }
  spdlog::warn("evidence: EXPORT {} ({} to {}, {} frames from {} segment(s)) for {}: {}", id, utc_iso8601(clip.start_utc),
               utc_iso8601(clip.end_utc), clip.frames, clip.from_segments.size(), requester, reason);
  auto e = event(EventType::footage_exported, Severity::info);
  e.clip = id;
  e.details = {{"from", utc_iso8601(*from)}, {"to", utc_iso8601(*to)}, {"requester", requester}, {"reason", reason},
               {"segments", clip.from_segments}, {"frames", clip.frames}};
  hooks_.raise(std::move(e));
  if (hooks_.exported) hooks_.exported(clip);
  return nlohmann::json{{"clip", id}, {"frames", clip.frames}, {"segments", clip.from_segments},
                        {"utc_start", utc_iso8601(clip.start_utc)}, {"utc_end", utc_iso8601(clip.end_utc)}};
}

}  // namespace assure::app
