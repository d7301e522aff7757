#pragma once
// Capped exponential backoff with full jitter, for every retry loop (broker, video source).
// The random source is injected so tests can pin it.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace assure {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  Backoff(Duration initial, Duration cap, std::uint64_t seed = std::random_device{}())
      : initial_(std::max(initial, Duration{1})), cap_(std::max(cap, initial_)), rng_(seed) {}

  // The delay before the next attempt: uniform in [ceiling/2, ceiling], where the ceiling doubles
  // after every failure up to the cap. Half the ceiling is kept so a retry never comes at once.
  Duration next() {
    const Duration ceiling = ceiling_for(failures_);
    ++failures_;
    std::uniform_int_distribution<std::int64_t> pick(ceiling.count() / 2, ceiling.count());
    return Duration{pick(rng_)};
  }

  void reset() { failures_ = 0; }
  unsigned failures() const { return failures_; }

 private:
  Duration ceiling_for(unsigned failures) const {
    Duration d = initial_;
    for (unsigned i = 0; i < failures && d < cap_; ++i) d *= 2;
    return std::min(d, cap_);
  }

  Duration initial_;
  Duration cap_;
  unsigned failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace assure
