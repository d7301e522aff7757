#include <gtest/gtest.h>

#include "assure/base/backoff.hpp"

using namespace std::chrono_literals;
using assure::Backoff;

TEST(Backoff, DoublesWithinJitterUpToTheCap) {
  Backoff backoff(100ms, 1000ms, 42);
  const std::chrono::milliseconds ceilings[] = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms};
  for (auto ceiling : ceilings) {
    const auto delay = backoff.next();
    EXPECT_GE(delay, ceiling / 2);
    EXPECT_LE(delay, ceiling);
  }
  EXPECT_EQ(backoff.failures(), 6u);
}

TEST(Backoff, ResetStartsAgainFromTheFirstDelay) {
  Backoff backoff(100ms, 10s, 7);
  for (int i = 0; i < 10; ++i) backoff.next();
  backoff.reset();
  EXPECT_LE(backoff.next(), 100ms);
}

TEST(Backoff, JitterSpreadsDevicesThatFailTogether) {
  // A fleet that lost its broker at once must not come back in lock-step.
  Backoff a(1000ms, 30s, 1), b(1000ms, 30s, 2);
  int same = 0;
  for (int i = 0; i < 8; ++i) same += a.next() == b.next();
  EXPECT_LT(same, 8);
}

TEST(Backoff, AZeroInitialDelayIsRaisedToOneMillisecond) {
  Backoff backoff(0ms, 0ms, 3);
  EXPECT_GE(backoff.next(), 0ms);
  EXPECT_LE(backoff.next(), 1ms);
}
