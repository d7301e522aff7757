// The raw-frame file source (assurerawsrc) in real GStreamer pipelines, on real files: every whole
// frame once, in order, untouched and timed; hostile files (empty, torn, shrinking while playing,
// cut under mapped frames still downstream, odd sizes) end in a named error or warning, never a
// crash; a frame written to downstream (a privacy mask) never writes the file; and looped in a
// capture it plays on.

#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "assure/pipelines/capture.hpp"
#include "assure/pipelines/guarded_mapping.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;

namespace {

constexpr int kWidth = 64, kHeight = 48, kFrame = kWidth * kHeight * 3 / 2;

// Frame i: every byte of its luma i, of its chroma 128 + i.
std::string frames(int count) {
  std::string bytes;
  for (int i = 0; i < count; ++i) {
    bytes.append(kWidth * kHeight, static_cast<char>(i));
    bytes.append(kWidth * kHeight / 2, static_cast<char>(128 + i));
  }
  return bytes;
}

struct Played {
  std::vector<int> luma;                // each frame's first luma byte
  std::vector<GstClockTime> pts;        // and its time
  std::string error, warning;           // from the bus
};

// Plays `launch` (ending in "appsink name=out") to its end or error, pulling every frame.
Played play(const std::string& launch, const std::function<void(int)>& after_frame = {}) {
  pipelines::ensure_gstreamer();
  Played played;
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (error != nullptr) {
    played.error = error->message;
    g_clear_error(&error);
    return played;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  auto drain_bus = [&] {
    while (GstMessage* message = gst_bus_pop_filtered(bus, static_cast<GstMessageType>(GST_MESSAGE_ERROR |
                                                                                       GST_MESSAGE_WARNING))) {
      GError* e = nullptr;
      if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        gst_message_parse_error(message, &e, nullptr);
        if (played.error.empty()) played.error = e->message;
      } else {
        gst_message_parse_warning(message, &e, nullptr);
        if (played.warning.empty()) played.warning = e->message;
      }
      g_clear_error(&e);
      gst_message_unref(message);
    }
  };
  for (int n = 0, idle = 0; idle < 50;) {  // to the end, an error, or nothing for 5 s
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 100 * GST_MSECOND);
    if (sample == nullptr) {
      drain_bus();
      if (gst_app_sink_is_eos(GST_APP_SINK(sink)) || !played.error.empty()) break;
      ++idle;
      continue;
    }
    idle = 0;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      played.luma.push_back(map.size > 0 ? map.data[0] : -1);
      played.pts.push_back(GST_BUFFER_PTS(buffer));
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
    if (after_frame) after_frame(n++);
  }
  drain_bus();
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return played;
}

std::string source(const std::filesystem::path& file, int width = kWidth, int height = kHeight) {
  return "assurerawsrc location=\"" + file.string() + "\" width=" + std::to_string(width) +
         " height=" + std::to_string(height) + " framerate=25";
}

const std::string kSink = " ! appsink name=out sync=false max-buffers=1";

// Frames 0..count-1 of frames(), each once, in order, at 25 fps, and no error.
void expect_every_frame_in_order(const Played& p, int count) {
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.luma.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(p.luma[i], i);
    EXPECT_EQ(p.pts[i], static_cast<GstClockTime>(i) * 40 * GST_MSECOND);
  }
}

}  // namespace

TEST(RawSource, EveryWholeFrameOnceInOrderUntouchedAndTimed) {
  test::TempDir dir;
  const auto file = dir.write("frames.yuv", frames(30));
  const Played p = play(source(file) + kSink);
  expect_every_frame_in_order(p, 30);
}

TEST(RawSource, WithNoMappingLeftFramesAreReadIntoPooledBuffersAlike) {
  test::TempDir dir;
  const auto file = dir.write("frames.yuv", frames(30));
  // Every slot of the mapping guard taken: the source reads each frame the slow way.
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<pipelines::GuardedMapping> taken;
  while (auto m = pipelines::GuardedMapping::map(fd, 0, 16)) taken.push_back(std::move(*m));
  ASSERT_EQ(taken.size(), static_cast<std::size_t>(pipelines::GuardedMapping::kMaxMappings));
  const Played p = play(source(file) + kSink);
  taken.clear();
  close(fd);
  expect_every_frame_in_order(p, 30);
}

TEST(RawSource, ATornLastFrameIsLeftOutWithAWarning) {
  test::TempDir dir;
  const auto file = dir.write("torn.yuv", frames(5) + std::string(1000, 'x'));
  const Played p = play(source(file) + kSink);
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.luma.size(), 5u);
  EXPECT_NE(p.warning.find("ends in a torn frame: its last 1000 bytes"), std::string::npos) << p.warning;
}

TEST(RawSource, AnEmptyOrShortFileAndOddSizesAreNamedErrors) {
  test::TempDir dir;
  const auto empty = dir.write("empty.yuv", "");
  Played p = play(source(empty) + kSink);
  EXPECT_TRUE(p.luma.empty());
  EXPECT_NE(p.error.find("holds no whole frame of 64x48 (0 bytes, a frame is 4608)"), std::string::npos) << p.error;
  const auto short_file = dir.write("short.yuv", std::string(kFrame - 1, 'y'));
  p = play(source(short_file) + kSink);
  EXPECT_NE(p.error.find("holds no whole frame"), std::string::npos) << p.error;
  const auto file = dir.write("frames.yuv", frames(3));
  p = play(source(file, 62, 48) + kSink);
  EXPECT_TRUE(p.luma.empty());
  EXPECT_NE(p.error.find("the width must be a multiple of 8"), std::string::npos) << p.error;
  p = play(source(dir.path() / "missing.yuv") + kSink);
  EXPECT_NE(p.error.find("cannot read raw frames from"), std::string::npos) << p.error;
}

TEST(RawSource, AFileThatShrinksWhilePlayingEndsInAnErrorNotACrash) {
  test::TempDir dir;
  const auto file = dir.write("frames.yuv", frames(40));
  // After the third frame, the file is cut to two: frames already read play on, the next read
  // finds the file shorter than it was.
  const Played p = play(source(file) + kSink, [&](int n) {
    if (n == 2) std::filesystem::resize_file(file, 2 * kFrame);
  });
  EXPECT_LT(p.luma.size(), 40u);
  // Seen at the size check ("shrank from 184320 to 9216 bytes") or, cut between it and the read, by
  // the read itself ("could be read only in part").
  EXPECT_NE(p.error.find("shrank"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("while playing"), std::string::npos) << p.error;
}

TEST(RawSource, FramesCutFromTheFileWhileDownstreamReadAsZeroesAndEndInAnErrorNotSigbus) {
  test::TempDir dir;
  const auto file = dir.write("frames.yuv", frames(40));
  // Frames are mapped from the file, not copied: the queue holds several mapped ahead when the
  // file is cut to two frames. Reading those past the new end would be SIGBUS unguarded.
  const Played p = play(source(file) + " ! queue max-size-buffers=8 max-size-bytes=0 max-size-time=0" + kSink,
                        [&](int n) {
                          if (n == 2) std::filesystem::resize_file(file, 2 * kFrame);
                          if (n == 0) std::this_thread::sleep_for(200ms);  // the queue fills
                        });
  ASSERT_GT(p.luma.size(), 4u) << p.error;
  EXPECT_LT(p.luma.size(), 40u);
  for (std::size_t i = 4; i < p.luma.size(); ++i) EXPECT_EQ(p.luma[i], 0) << "frame " << i;  // wholly past the cut
  EXPECT_NE(p.error.find("while playing"), std::string::npos) << p.error;
}

TEST(RawSource, AFrameWrittenDownstreamNeverChangesTheFile) {
  test::TempDir dir;
  const std::string bytes = frames(4);
  const auto file = dir.write("frames.yuv", bytes);
  // The whole picture masked: the mask writes black into each frame, which must be a copy.
  const Played p =
      play(source(file) + " ! assureprivacymask polygons=\"0,0 1,0 1,1 0,1\" ! video/x-raw,format=I420" + kSink);
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.luma.size(), 4u);
  for (int luma : p.luma) EXPECT_EQ(luma, 16);  // black in I420
  EXPECT_EQ(test::read_file(file), bytes);
}

TEST(RawSource, ALoopedRawFilePlaysOnInACaptureWithoutALoss) {
  test::TempDir dir;
  const auto file = dir.write("frames.yuv", frames(20));
  test::Collected<pipelines::VideoEvent> recorder;
  pipelines::CaptureOptions options;
  options.source = {.kind = "file", .location = file.string(), .loop = true, .width = kWidth, .height = kHeight,
                    .framerate = 25};
  options.realtime = false;
  pipelines::VideoCapture capture(options, std::ref(recorder));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() > 100; }, 30s));
  capture.stop();
  EXPECT_TRUE(recorder.of<pipelines::VideoLost>().empty());
  ASSERT_EQ(recorder.of<pipelines::VideoStarted>().size(), 1u);
  EXPECT_EQ(recorder.of<pipelines::VideoStarted>()[0].width, kWidth);
}
