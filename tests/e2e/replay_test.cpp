// assure-replay as a process: real video through the real pipeline and detector.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "scenes.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Replay {
  int code = -1;
  std::vector<json> lines;
  std::string log;
};

Replay replay(const test::TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), test::binary("assure-replay").string());
  test::Process process(args, dir.path() / "replay.log");
  Replay out;
  auto status = process.wait(120s);
  out.code = status ? WEXITSTATUS(*status) : -1;
  out.log = process.log();
  std::istringstream in(out.log);
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.lines.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST(Replay, VtestGivesMotionEventsAndASummaryOfEveryFrame) {
  test::TempDir dir;
  auto r = replay(dir, {"--json", test::vtest_avi().string()});
  ASSERT_EQ(r.code, 0) << r.log;
  ASSERT_GE(r.lines.size(), 2u) << r.log;
  const json& summary = r.lines.back();
  EXPECT_EQ(summary["type"], "summary");
  EXPECT_EQ(summary["frames"], 795);
  EXPECT_EQ(summary["analysed"], 795);  // replay analyses every frame
  EXPECT_EQ(summary["events"].get<std::size_t>(), r.lines.size() - 1);
  EXPECT_EQ(summary["tampers"], 0) << "people walking by are never tamper";
  EXPECT_GT(summary["speed_x_realtime"].get<double>(), 1.0);
  for (std::size_t i = 0; i + 1 < r.lines.size(); ++i) {
    const json& m = r.lines[i];
    EXPECT_EQ(m["type"], "motion");
    EXPECT_LE(m["start_frame"].get<int>(), m["end_frame"].get<int>());
    EXPECT_EQ(m["start_ms"].get<int>(), m["start_frame"].get<int>() * 100);  // 10 fps
    EXPECT_GT(m["box"]["w"].get<double>(), 0);
  }
  // People walk the campus path from the first seconds of the clip.
  EXPECT_LE(r.lines[0]["start_frame"].get<int>(), 30);
}

TEST(Replay, ASyntheticWalkEncodedToH264IsOneEventWhereThePersonIs) {
  test::TempDir dir;
  const auto video = (dir.path() / "walk.mp4").string();
  ASSERT_EQ(test::write_video(test::scene("walk"), video), "");
  auto r = replay(dir, {"--json", video});
  ASSERT_EQ(r.code, 0) << r.log;
  ASSERT_EQ(r.lines.size(), 2u) << r.log;
  const json& m = r.lines[0];
  EXPECT_GE(m["start_frame"].get<int>(), 50);
  EXPECT_LE(m["start_frame"].get<int>(), 53);
  EXPECT_GE(m["end_frame"].get<int>(), 105);
  EXPECT_LE(m["end_frame"].get<int>(), 112);
  EXPECT_EQ(r.lines[1]["frames"], 200);
}

TEST(Replay, QuietScenesEncodedToH264RaiseNothing) {
  for (const char* name : {"light-switch", "rain", "camera-shake"}) {
    test::TempDir dir;
    const auto video = (dir.path() / "scene.mp4").string();
    ASSERT_EQ(test::write_video(test::scene(name), video), "");
    auto r = replay(dir, {"--json", video});
    ASSERT_EQ(r.code, 0) << r.log;
    ASSERT_EQ(r.lines.size(), 1u) << name << ": " << r.log;
    EXPECT_EQ(r.lines[0]["events"], 0) << name;
  }
}

TEST(Replay, TamperOnEncodedVideoIsPrintedWithItsKindFrameAndRestore) {
  // Each through x264 and the real decoding pipeline: the hand over the lens from frame 150 to
  // 320, the camera pushed round at frame 150 for good.
  struct Case {
    const char* scene;
    const char* kind;
    bool restored;
  };
  for (const Case c : {Case{"cover-hand", "covered", true}, Case{"moved-pan", "moved", false},
                       Case{"defocus", "defocused", false}}) {
    test::TempDir dir;
    const auto video = (dir.path() / "scene.mp4").string();
    ASSERT_EQ(test::write_video(test::scene(c.scene), video), "");
    auto r = replay(dir, {"--json", video});
    ASSERT_EQ(r.code, 0) << r.log;
    std::vector<json> tampers, restores;
    for (const auto& line : r.lines) {
      if (line["type"] == "tamper") tampers.push_back(line);
      if (line["type"] == "tamper_restored") restores.push_back(line);
    }
    ASSERT_EQ(tampers.size(), 1u) << c.scene << ": " << r.log;
    EXPECT_EQ(tampers[0]["kind"], c.kind) << c.scene;
    const int frame = tampers[0]["frame"];
    EXPECT_GT(frame, 150) << c.scene;
    EXPECT_LE(frame, 250) << c.scene << ": within 10 s at 10 fps";
    EXPECT_EQ(tampers[0]["ms"].get<int>(), frame * 100);
    EXPECT_EQ(restores.size(), c.restored ? 1u : 0u) << c.scene;
    if (c.restored) {
      EXPECT_GE(restores[0]["frame"].get<int>(), 320);
      EXPECT_LE(restores[0]["frame"].get<int>(), 370);
    }
    EXPECT_EQ(r.lines.back()["tampers"], 1) << c.scene;
  }
}

TEST(Replay, BadInputIsAClearErrorNotACrash) {
  test::TempDir dir;
  auto text = dir.write("notes.mp4", "this is not a video\n");
  auto r = replay(dir, {text.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.log.find("assure-replay: " + text.string() + ": "), std::string::npos) << r.log;
  auto missing = replay(dir, {(dir.path() / "none.mp4").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.log.find("no video file at"), std::string::npos) << missing.log;
  auto usage = replay(dir, {"--frobnicate"});
  EXPECT_EQ(usage.code, 2);
  auto bad_config = dir.write("device.toml", "[motion]\nsensitivity = 11\n");
  auto config = replay(dir, {"--config", bad_config.string(), test::vtest_avi().string()});
  EXPECT_EQ(config.code, 2);
  EXPECT_NE(config.log.find("motion.sensitivity: 11 is above the maximum 10"), std::string::npos) << config.log;
}

TEST(Replay, WithClipsItWritesTheClipsTheDeviceWouldAndSaysWhere) {
  test::TempDir dir;
  const auto video = (dir.path() / "walk.mp4").string();
  ASSERT_EQ(test::write_video(test::scene("walk"), video), "");
  // The device's own settings: a privacy mask and a short tail, from its config file.
  auto device = dir.write("device.toml",
                          "[device]\nid = \"pole-7\"\nsite = \"estate-a\"\n"
                          "[evidence]\npre_event = 3\npost_event = 2\n"
                          "[[privacy.mask]]\nname = \"flat-3\"\npoints = \"0,0 0.3,0 0.3,0.4 0,0.4\"\n");
  const auto clips = dir.path() / "clips";
  auto r = replay(dir, {"--json", "--config", device.string(), "--clips", clips.string(), video});
  ASSERT_EQ(r.code, 0) << r.log;
  ASSERT_EQ(r.lines.size(), 3u) << r.log;  // motion, clip, summary
  const json& clip = r.lines[1];
  EXPECT_EQ(clip["type"], "clip");
  EXPECT_EQ(clip["clip"].get<std::string>().rfind("pole-7-cam0-", 0), 0u);
  EXPECT_TRUE(std::filesystem::is_regular_file(clip["file"].get<std::string>())) << clip.dump();
  EXPECT_TRUE(std::filesystem::is_regular_file(clip["sidecar"].get<std::string>()));
  EXPECT_EQ(clip["events"], 1);
  EXPECT_TRUE(clip["error"].is_null());
  EXPECT_EQ(r.lines[2]["clips"], 1);
  EXPECT_EQ(r.lines[2]["clip_failures"], 0);
}

TEST(Replay, ABadPrivacyMaskInTheConfigIsRefusedWithItsPosition) {
  test::TempDir dir;
  auto device = dir.write("device.toml", "[device]\nid = \"pole-7\"\nsite = \"estate-a\"\n"
                                         "[[privacy.mask]]\nname = \"flat-3\"\npoints = \"0,0 0.3,0\"\n");
  auto r = replay(dir, {"--config", device.string(), test::vtest_avi().string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.log.find("device.toml:6:10: privacy.mask[0].points: a polygon needs at least 3 points, got 2"),
            std::string::npos)
      << r.log;
}

TEST(Replay, WithSnapshotsItWritesTheJpegOfEachMotionStart) {
  test::TempDir dir;
  const auto snapshots = dir.path() / "snapshots";
  auto r = replay(dir, {"--json", "--snapshots", snapshots.string(), test::vtest_avi().string()});
  ASSERT_EQ(r.code, 0) << r.log;
  ASSERT_GE(r.lines.size(), 2u) << r.log;
  for (std::size_t i = 0; i + 1 < r.lines.size(); ++i) {
    const json& m = r.lines[i];
    const std::filesystem::path file = m["snapshot"].get<std::string>();
    EXPECT_EQ(file, snapshots / ("motion-" + std::to_string(m["start_frame"].get<int>()) + ".jpg"));
    const std::string jpeg = test::read_file(file);
    ASSERT_GT(jpeg.size(), 10000u) << file;
    EXPECT_EQ(jpeg.substr(0, 3), "\xFF\xD8\xFF");  // a JPEG
  }
}
