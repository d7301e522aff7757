// Salvage of clips cut short, on real fragmented MP4 written by GStreamer (x264enc ! mp4mux in
// one-second fragments, as the recorder writes them) and cut where a power loss would cut it:
// every whole fragment is kept and plays, the torn tail goes, the sidecar says what happened and
// when the last frame was; files with nothing whole, lying box sizes and odd names are refused
// and left as they are.

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "assure/pipelines/clip_salvage.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// 8 s of 320x240 at 10 fps, in one-second fragments: 80 frames.
std::string fragmented_clip(const fs::path& dir) {
  static std::string bytes;
  if (!bytes.empty()) return bytes;
  pipelines::ensure_gstreamer();
  const fs::path file = dir / "whole.mp4";
  const std::string launch =
      "videotestsrc num-buffers=80 pattern=smpte ! video/x-raw,width=320,height=240,framerate=10/1 ! "
      "x264enc speed-preset=ultrafast key-int-max=10 ! h264parse ! mp4mux fragment-duration=1000 ! filesink "
      "location=\"" + file.string() + "\"";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  EXPECT_EQ(error, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message =
      gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  EXPECT_NE(message, nullptr);
  if (message != nullptr) {
    EXPECT_EQ(GST_MESSAGE_TYPE(message), GST_MESSAGE_EOS);
    gst_message_unref(message);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  bytes = test::read_file(file);
  return bytes;
}

const std::string kId = "pole-9-cam0-20261202T010000Z";

void opening_sidecar(const test::TempDir& dir) {
  dir.write(kId + ".json", nlohmann::json{{"clip", kId},
                                          {"file", kId + ".mp4.part"},
                                          {"device", "pole-9"},
                                          {"camera", "cam0"},
                                          {"utc_start", "2026-12-02T01:00:00.000Z"},
                                          {"state", "recording"}}
                               .dump());
}

}  // namespace

TEST(ClipSalvage, ACutClipKeepsItsWholeFragmentsPlaysAndSaysWhenItsLastFrameWas) {
  test::TempDir dir;
  const std::string whole = fragmented_clip(dir.path());
  ASSERT_GT(whole.size(), 10000u);
  const auto all = pipelines::probe_clip(dir.path() / "whole.mp4");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->frames, 80u);
  // Cut 60 % of the way in: inside some fragment.
  const std::string cut = whole.substr(0, whole.size() * 6 / 10);
  const auto part = dir.write(kId + ".mp4.part", cut);
  opening_sidecar(dir);
  ASSERT_EQ(pipelines::unfinished_clips(dir.path()), std::vector<fs::path>{part});

  auto salvaged = pipelines::salvage_clip(part);
  ASSERT_TRUE(salvaged) << salvaged.error().message;
  const auto& clip = salvaged->clip;
  EXPECT_FALSE(fs::exists(part));
  ASSERT_TRUE(fs::exists(clip.file));
  EXPECT_EQ(clip.file.filename(), kId + ".mp4");
  EXPECT_GT(salvaged->dropped_bytes, 0u);
  EXPECT_EQ(fs::file_size(clip.file) + salvaged->dropped_bytes, cut.size());
  // Whole seconds of it: a multiple of the 10 frames a fragment holds, fewer than all of them.
  EXPECT_GE(clip.frames, 10u);
  EXPECT_LT(clip.frames, 80u);
  EXPECT_EQ(clip.frames % 10, 0u) << clip.frames;
  EXPECT_EQ(salvaged->fragments, clip.frames / 10);
  const auto played = pipelines::probe_clip(clip.file);
  ASSERT_TRUE(played) << played.error().message;
  EXPECT_EQ(played->frames, clip.frames);
  // The last frame of N frames at 10 fps is (N - 1) tenths of a second after the start.
  const std::string last = utc_iso8601(*parse_utc_iso8601("2026-12-02T01:00:00.000Z") +
                                       std::chrono::milliseconds{100 * (static_cast<long>(clip.frames) - 1)});
  EXPECT_EQ(clip.reason, "cut short: power loss or crash, last frame at " + last);
  EXPECT_EQ(utc_iso8601(clip.start_utc), "2026-12-02T01:00:00.000Z");
  const auto sidecar = nlohmann::json::parse(test::read_file(clip.sidecar));
  EXPECT_EQ(sidecar["reason"], clip.reason);
  EXPECT_EQ(sidecar["cut_short"], true);
  EXPECT_EQ(sidecar["file"], kId + ".mp4");
  EXPECT_EQ(sidecar["frames"], clip.frames);
  EXPECT_EQ(sidecar["device"], "pole-9");
  EXPECT_TRUE(sidecar["start_estimated"].is_null());
  EXPECT_TRUE(pipelines::unfinished_clips(dir.path()).empty());
}

TEST(ClipSalvage, WithoutItsOpeningSidecarTheStartIsEstimatedAndSaidToBe) {
  test::TempDir dir;
  const std::string whole = fragmented_clip(dir.path());
  const auto part = dir.write(kId + ".mp4.part", whole.substr(0, whole.size() / 2));
  auto salvaged = pipelines::salvage_clip(part);
  ASSERT_TRUE(salvaged) << salvaged.error().message;
  const auto sidecar = nlohmann::json::parse(test::read_file(salvaged->clip.sidecar));
  EXPECT_NE(sidecar["start_estimated"].get<std::string>().find("estimated from the file's modification time"),
            std::string::npos);
  EXPECT_LT(std::chrono::system_clock::now() - salvaged->clip.start_utc, 60s);
}

TEST(ClipSalvage, NothingWholeLyingBoxSizesAndOddNamesAreRefusedAndLeftAsTheyAre) {
  test::TempDir dir;
  const std::string whole = fragmented_clip(dir.path());
  // Cut inside the first fragment: nothing to keep.
  const auto early = dir.write(kId + ".mp4.part", whole.substr(0, 900));
  auto refused = pipelines::salvage_clip(early);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("holds no whole fragment"), std::string::npos) << refused.error().message;
  EXPECT_EQ(test::read_file(early), whole.substr(0, 900));
  // A header claiming a box larger than the file: read as torn there, never followed.
  std::string lying = whole.substr(0, whole.size() / 2);
  lying += std::string("\xff\xff\xff\xf0moof", 8) + std::string(64, 'z');
  const auto lie = dir.write("pole-9-cam0-20261202T020000Z.mp4.part", lying);
  auto kept = pipelines::salvage_clip(lie);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_GT(kept->clip.frames, 0u);
  EXPECT_GE(kept->dropped_bytes, 72u);
  // Junk, and names that are not clip ids.
  const auto junk = dir.write("pole-9-cam0-20261202T030000Z.mp4.part", std::string(5000, '\x01'));
  EXPECT_FALSE(pipelines::salvage_clip(junk));
  EXPECT_TRUE(fs::exists(junk));
  EXPECT_FALSE(pipelines::salvage_clip(dir.path() / "..mp4.part"));
  EXPECT_FALSE(pipelines::salvage_clip(dir.path() / "clip.mp4"));
}

TEST(ClipSalvage, AFinishedClipWhoseClosingSidecarIsMissingTakesItsLengthFromTheFile) {
  test::TempDir dir;
  const std::string whole = fragmented_clip(dir.path());
  const auto file = dir.write(kId + ".mp4", whole);
  opening_sidecar(dir);  // the stop came between the rename and the closing sidecar
  auto clip = pipelines::read_finished_clip(file);
  ASSERT_TRUE(clip) << clip.error().message;
  EXPECT_EQ(clip->frames, 80u);
  EXPECT_EQ(utc_iso8601(clip->start_utc), "2026-12-02T01:00:00.000Z");
  EXPECT_EQ(utc_iso8601(clip->end_utc), "2026-12-02T01:00:08.000Z");
  EXPECT_NE(clip->reason.find("closing sidecar missing"), std::string::npos) << clip->reason;
  EXPECT_FALSE(pipelines::read_finished_clip(dir.path() / "a b.mp4"));
}
