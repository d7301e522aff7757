#include <gtest/gtest.h>

#include <fstream>

#include "assure/pipelines/source.hpp"
#include "support.hpp"

using namespace assure;
using pipelines::SourceSpec;

TEST(Source, AMissingFileIsNamed) {
  auto d = pipelines::source_description({.kind = "file", .location = "/no/such/clip.mp4"});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::not_found);
  EXPECT_EQ(d.error().message, "file source: no video file at '/no/such/clip.mp4'");
}

TEST(Source, PathsWithQuotesAndSpacesAreQuotedForTheGraph) {
  test::TempDir dir;
  auto file = dir.write("a \"b\" c.avi", "x");
  auto d = pipelines::source_description({.kind = "file", .location = file.string()});
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_NE(d->find("location=\"" + dir.path().string() + "/a \\\"b\\\" c.avi\""), std::string::npos) << *d;
}

TEST(Source, EachKindGivesItsElement) {
  EXPECT_NE(pipelines::source_description({.kind = "test"})->find("videotestsrc is-live=true"), std::string::npos);
  EXPECT_NE(pipelines::source_description({.kind = "test", .width = 640, .height = 360, .framerate = 15})
                ->find("width=640,height=360,framerate=15/1"),
            std::string::npos);
  EXPECT_NE(pipelines::source_description({.kind = "v4l2"})->find("/dev/video0"), std::string::npos);
  EXPECT_NE(pipelines::source_description({.kind = "rtsp", .location = "rtsp://127.0.0.1:8554/cam"})
                ->find("rtspsrc location=\"rtsp://127.0.0.1:8554/cam\""),
            std::string::npos);
  EXPECT_NE(pipelines::source_description({.kind = "libcamera", .location = "imx219"})
                ->find("libcamerasrc camera-name=\"imx219\""),
            std::string::npos);
}

TEST(Source, BadKindsAndUrlsAreRefused) {
  EXPECT_EQ(pipelines::source_description({.kind = "webcam"}).error().code, Errc::invalid_argument);
  EXPECT_NE(pipelines::source_description({.kind = "rtsp", .location = "http://x"}).error().message.find("not an rtsp://"),
            std::string::npos);
  EXPECT_EQ(pipelines::describe({.kind = "file", .location = "/a.avi", .loop = true}), "file /a.avi (loop)");
}

TEST(Source, RawYuvFramesNeedTheirSizeAndRate) {
  test::TempDir dir;
  const auto file = (dir.path() / "frames.yuv").string();
  std::ofstream(file) << "x";
  auto missing = pipelines::source_description({.kind = "file", .location = file});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("need camera.width, camera.height and camera.framerate"), std::string::npos);
  auto raw = pipelines::source_description(
      {.kind = "file", .location = file, .width = 1280, .height = 720, .framerate = 25});
  ASSERT_TRUE(raw);
  EXPECT_NE(raw->find("assurerawsrc location=\"" + file + "\" width=1280 height=720 framerate=25"), std::string::npos)
      << *raw;
}
