// The pre-event ring and the polygon text form: pure logic, no pipeline.

#include <gtest/gtest.h>

#include "assure/base/polygon.hpp"
#include "assure/pipelines/recording.hpp"

using namespace assure;
using namespace assure::pipelines;
using namespace std::chrono_literals;

namespace {

// 10 fps with a keyframe every `gop` pictures; keyframes 10x the size of the others.
AccessUnit picture(int index, int gop = 20, std::size_t size = 1000) {
  AccessUnit unit;
  unit.keyframe = index % gop == 0;
  unit.data.assign(unit.keyframe ? size * 10 : size, 0);
  unit.pts = unit.dts = std::chrono::milliseconds{index * 100};
  unit.duration = 100ms;
  return unit;
}

}  // namespace

TEST(PreEventRing, StartsAtAKeyframeAndKeepsAtLeastTheAskedTime) {
  PreEventRing ring(5s, 100u << 20);
  for (int i = 0; i < 300; ++i) {
    ring.push(picture(i));
    ASSERT_TRUE(ring.units().front().keyframe) << "at picture " << i;
    if (i >= 50) {
      // Always 5 s or more, and never a whole group more than needed (2 s groups).
      EXPECT_GE(ring.span(), 5s) << "at picture " << i;
      EXPECT_LT(ring.span(), 7s) << "at picture " << i;
    }
  }
}

TEST(PreEventRing, AClipStartsAtTheKeyframeAtOrBeforeTheAskedTime) {
  PreEventRing ring(10s, 100u << 20);
  for (int i = 0; i < 150; ++i) ring.push(picture(i));  // 15 s; keyframes every 2 s
  const auto& units = ring.units();
  const auto at = [&](std::chrono::milliseconds t) { return units[ring.start_for(t)].pts; };
  EXPECT_EQ(at(9000ms), 8000ms);
  EXPECT_EQ(at(8000ms), 8000ms);
  EXPECT_EQ(at(13900ms), 12000ms);
  EXPECT_EQ(at(0ms), units.front().pts);  // older than the ring: from its front
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].keyframe) {
      EXPECT_EQ(ring.start_for(units[i].pts), i);
    }
  }
}

TEST(PreEventRing, TheByteBoundDropsWholeGroupsFromTheFront) {
  // 2 s groups of 10 kB + 19 x 1 kB = 29 kB; 60 kB holds two groups, never three.
  PreEventRing ring(30s, 60'000);
  for (int i = 0; i < 400; ++i) {
    ring.push(picture(i));
    ASSERT_LE(ring.bytes(), 60'000u) << "at picture " << i;
    ASSERT_TRUE(ring.units().front().keyframe);
  }
  EXPECT_GT(ring.trimmed_for_bytes(), 0u);
  EXPECT_GE(ring.span(), 3s);  // about two groups remain
}

TEST(PreEventRing, AnEncoderThatStopsSendingKeyframesCannotGrowIt) {
  PreEventRing ring(10s, 50'000);
  ring.push(picture(0));
  for (int i = 1; i < 10'000; ++i) {
    ring.push(picture(i, /*gop=*/1'000'000));  // never another keyframe
    ASSERT_LE(ring.bytes(), 50'000u);
  }
  EXPECT_TRUE(ring.units().empty());  // given up, waiting for a keyframe
  EXPECT_GT(ring.skipped_before_keyframe(), 0u);
  ring.push(picture(0));
  EXPECT_EQ(ring.units().size(), 1u);
}

TEST(PreEventRing, PicturesBeforeTheFirstKeyframeAreSkipped) {
  PreEventRing ring(10s, 1u << 20);
  ring.push(picture(1));
  ring.push(picture(2));
  EXPECT_TRUE(ring.units().empty());
  EXPECT_EQ(ring.skipped_before_keyframe(), 2u);
  ring.push(picture(20));
  ring.push(picture(21));
  EXPECT_EQ(ring.units().size(), 2u);
}

TEST(Polygon, ReadsAndWritesTheTextForm) {
  auto polygon = parse_polygon("0.1,0.2  0.5,0.2\t0.5,0.75 0,1");
  ASSERT_TRUE(polygon) << polygon.error().message;
  ASSERT_EQ(polygon->size(), 4u);
  EXPECT_EQ((*polygon)[2], (Point{0.5, 0.75}));
  EXPECT_EQ(to_string(*polygon), "0.1,0.2 0.5,0.2 0.5,0.75 0,1");
  auto again = parse_polygon(to_string(*polygon));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *polygon);

  auto several = parse_polygons("0,0 1,0 1,1; 0,0 0.5,0 0.5,0.5 ;");
  ASSERT_TRUE(several) << several.error().message;
  EXPECT_EQ(several->size(), 2u);
  EXPECT_TRUE(parse_polygons("")->empty());
}

TEST(Polygon, SaysWhichPointIsWrongAndWhy) {
  auto outside = parse_polygon("0.1,0.1 1.2,0.1 0.5,0.5");
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("point 2 \"1.2,0.1\" lies outside the picture"), std::string::npos)
      << outside.error().message;
  auto garbled = parse_polygon("0.1,0.1 0.4;0.1 0.5,0.5");
  ASSERT_FALSE(garbled);
  EXPECT_NE(garbled.error().message.find("point 2"), std::string::npos) << garbled.error().message;
  auto short_one = parse_polygon("0,0 1,1");
  ASSERT_FALSE(short_one);
  EXPECT_NE(short_one.error().message.find("at least 3 points, got 2"), std::string::npos);
  auto second = parse_polygons("0,0 1,0 1,1;0,0 x,1 1,1");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message.rfind("polygon 2: point 2", 0), 0u) << second.error().message;
}
