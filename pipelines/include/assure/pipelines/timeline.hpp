#pragma once
// One stream's times made monotonic. A looping file camera seeks back to the start (its running
// time starts again at 0), an RTSP camera resets its clock when it reboots, and a camera that
// stalls jumps ahead: the recorder's clip lengths and pre-event ring and the detector's durations
// all assume time that moves forward a frame at a time. A time that goes back, or leaps further
// than `max_jump`, is rebased to follow the last one by one frame; the rest pass as they are,
// shifted by the same offset.

#include <chrono>
#include <cstdint>
#include <optional>

namespace assure::pipelines {

class Timeline {
 public:
  explicit Timeline(std::chrono::nanoseconds max_jump = std::chrono::seconds{5}) : max_jump_(max_jump.count()) {}

  // `raw`: the buffer's running time; `step`: one frame (its duration, or a guess).
  std::chrono::nanoseconds map(std::chrono::nanoseconds raw, std::chrono::nanoseconds step) {
    const std::int64_t r = raw.count(), frame = step.count() > 0 ? step.count() : 40'000'000;
    if (!last_) {
      last_ = r;
      return raw;
    }
    std::int64_t out = r + offset_;
    if (out < *last_ || out - *last_ > max_jump_) {
      offset_ = *last_ + frame - r;
      out = *last_ + frame;
      ++rebased_;
    }
    last_ = out;
    return std::chrono::nanoseconds{out};
  }
  // The same shift for a second time of the same buffer (a decode time beside its presentation
  // time), without moving the timeline.
  std::chrono::nanoseconds shift(std::chrono::nanoseconds raw) const { return raw + std::chrono::nanoseconds{offset_}; }
  std::uint64_t rebased() const { return rebased_; }  // discontinuities seen

 private:
  std::int64_t max_jump_;
  std::int64_t offset_ = 0;
  std::optional<std::int64_t> last_;
  std::uint64_t rebased_ = 0;
};

}  // namespace assure::pipelines
