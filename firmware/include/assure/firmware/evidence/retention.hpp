#pragma once
// Retention of the evidence store, as pure logic: given what is stored (continuous segments and
// event clips), the evidential holds, the limits and the time, it says what goes and whether
// recording must stop. Footage goes by age (older than max_age) and by quota (oldest first, until
// the store and room for what is being written fit), whichever comes first. Never deleted:
// footage under a hold, an event clip the control room has not yet received, and segments that
// overlap such a clip (they are the same minutes). When the quota cannot be met without them,
// nothing protected goes: recording stops, and the caller says so loudly.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace assure::evidence {

using UtcTime = std::chrono::system_clock::time_point;

struct Footage {
  enum class Kind { segment, clip };
  std::string id;
  std::string camera;
  Kind kind = Kind::segment;
  UtcTime start;
  UtcTime end;
  std::uint64_t bytes = 0;
  bool unsent = false;  // a clip not yet received by the control room
  bool sealed = false;  // written for the control room's key only (evidence.encrypt)
};

struct Hold {
  std::string reference;  // the case reference
  std::string camera;     // empty: every camera
  UtcTime from;
  UtcTime to;
};

struct RetentionLimits {
  std::chrono::seconds max_age{std::chrono::days{31}};
  std::uint64_t quota_bytes = 0;     // 0: no quota
  std::uint64_t headroom_bytes = 0;  // kept free for what is being written (a segment or two)
};

struct Deletion {
  std::string id;
  std::string camera;
  Footage::Kind kind = Footage::Kind::segment;
  std::uint64_t bytes = 0;
  std::string reason;  // "older than 31 days", "over the quota (... of ... bytes)"
};

struct RetentionPlan {
  std::vector<Deletion> deletions;  // oldest first
  std::uint64_t bytes_before = 0;
  std::uint64_t bytes_after = 0;
  std::uint64_t protected_bytes = 0;  // under a hold or not yet sent
  bool stop_recording = false;        // over the quota with only protected footage left
  std::string why;                    // when stopping: what fills the store
};

// True when the footage may not be deleted (unsent_clips: the clips not yet received).
bool is_protected(const Footage& footage, const std::vector<Footage>& unsent_clips, const std::vector<Hold>& holds);

RetentionPlan plan_retention(std::vector<Footage> stored, const std::vector<Hold>& holds, const RetentionLimits& limits,
                             UtcTime now);

}  // namespace assure::evidence
