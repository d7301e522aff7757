#include "assure/firmware/evidence/retention.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace assure::evidence {

namespace {

bool overlaps(UtcTime a_from, UtcTime a_to, UtcTime b_from, UtcTime b_to) { return a_from < b_to && b_from < a_to; }

bool same_camera(const std::string& hold_camera, const std::string& camera) {
  return hold_camera.empty() || hold_camera == camera;
}

std::string age_text(std::chrono::seconds age) {
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(age).count();
  if (hours > 0 && hours % 24 == 0) return fmt::format("{} day{}", hours / 24, hours == 24 ? "" : "s");
  if (hours > 0 && age % std::chrono::hours{1} == std::chrono::seconds{0}) {
    return fmt::format("{} hour{}", hours, hours == 1 ? "" : "s");
  }
  return fmt::format("{} s", age.count());
}

}  // namespace

bool is_protected(const Footage& footage, const std::vector<Footage>& unsent_clips, const std::vector<Hold>& holds) {
  if (footage.unsent) return true;
  for (const Hold& hold : holds) {
    if (same_camera(hold.camera, footage.camera) && overlaps(footage.start, footage.end, hold.from, hold.to)) return true;
  }
  if (footage.kind == Footage::Kind::segment) {
    for (const Footage& clip : unsent_clips) {
      if (clip.camera == footage.camera && overlaps(footage.start, footage.end, clip.start, clip.end)) return true;
    }
  }
  return false;
}

RetentionPlan plan_retention(std::vector<Footage> stored, const std::vector<Hold>& holds, const RetentionLimits& limits,
                             UtcTime now) {
  std::stable_sort(stored.begin(), stored.end(), [](const Footage& a, const Footage& b) { return a.start < b.start; });
  std::vector<Footage> unsent_clips;
  for (const Footage& f : stored) {
    if (f.kind == Footage::Kind::clip && f.unsent) unsent_clips.push_back(f);
  }
  RetentionPlan plan;
  std::vector<bool> guarded(stored.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    plan.bytes_before += stored[i].bytes;
    guarded[i] = is_protected(stored[i], unsent_clips, holds);
    if (guarded[i]) plan.protected_bytes += stored[i].bytes;
  }
  std::vector<const std::string*> gone(stored.size());  // why it goes; null: it stays
  std::uint64_t kept = plan.bytes_before;
  auto remove = [&](std::size_t i, const std::string& reason) {
    gone[i] = &reason;
    kept -= stored[i].bytes;
  };
  const std::string too_old = "older than " + age_text(limits.max_age);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    if (!guarded[i] && stored[i].end + limits.max_age < now) remove(i, too_old);
  }
  const std::string over_quota = fmt::format("over the quota ({} bytes)", limits.quota_bytes);
  if (limits.quota_bytes > 0) {
    const auto over = [&] { return kept + limits.headroom_bytes > limits.quota_bytes; };
    for (std::size_t i = 0; i < stored.size() && over(); ++i) {
      if (!guarded[i] && gone[i] == nullptr) remove(i, over_quota);
    }
    if (over()) {
      plan.stop_recording = true;
      plan.why = fmt::format(
          "the evidence store holds {} bytes of which {} are under an evidential hold or not yet received by the "
          "control room; with {} bytes kept free it cannot stay within its quota of {} bytes",
          kept, plan.protected_bytes, limits.headroom_bytes, limits.quota_bytes);
    }
  }
  for (std::size_t i = 0; i < stored.size(); ++i) {
    if (gone[i] != nullptr) plan.deletions.push_back({stored[i].id, stored[i].camera, stored[i].kind, stored[i].bytes, *gone[i]});
  }
  plan.bytes_after = kept;
  return plan;
}

}  // namespace assure::evidence
