// Encryption at rest through the real pipeline: vtest.avi decoded, encoded with x264enc, its clips
// and continuous segments sealed to a control room's key as they are written (the home kit's
// evidence.encrypt). What is on the "card" is not an MP4 and holds no stretch of the pictures;
// the control room's key opens each to an MP4 that ffprobe plays frame for frame, with the hash
// the sidecar (and so the manifest) names; another key opens nothing. A sealed clip cut short by
// a power loss keeps its whole records, and the control room plays what they hold.

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "assure/base/files.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/evidence/sealed_file.hpp"
#include "assure/pipelines/capture.hpp"
#include "assure/pipelines/clip_salvage.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::pipelines;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const UtcTime kOrigin = std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + 21h;

json ffprobe(const std::filesystem::path& file) {
  const std::string command =
      "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
      "stream=codec_name,nb_read_frames:format_tags=creation_time -of json '" + file.string() + "' 2>&1";
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    ::pclose(pipe);
  }
  json parsed = json::parse(output, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("streams") || parsed["streams"].empty()) {
    ADD_FAILURE() << file << ": " << output;
    return {};
  }
  return parsed;
}

std::uint64_t frames_of(const json& probed) {
  return probed.is_object() ? std::stoull(probed["streams"][0].value("nb_read_frames", "0")) : 0;
}

struct Recorded {
  std::vector<ClipClosed> clips;
  std::vector<SegmentClosed> segments;
};

Recorded record_sealed(const std::filesystem::path& dir, const FootageSinkFactory& sinks) {
  CaptureOptions options;
  options.source = {.kind = "file", .location = test::vtest_avi().string()};
  options.realtime = false;
  options.retry = false;
  MotionSettings motion;
  motion.event_gap = 1000ms;
  options.motion = motion;
  RecordingOptions r;
  r.dir = dir / "clips";
  r.device_id = "home-3";
  r.camera_id = "cam0";
  r.encoder = "x264enc tune=zerolatency speed-preset=ultrafast bitrate=1024";
  r.pre_event = 2s;
  r.post_event = 2s;
  r.utc_origin = kOrigin;
  r.sink = sinks;
  options.recording = r;
  options.segments = SegmentOptions{.dir = dir / "segments" / "cam0", .device_id = "home-3", .camera_id = "cam0",
                                    .length = 10s, .utc_origin = kOrigin, .sink = sinks};
  Recorded out;
  std::mutex mutex;
  std::condition_variable ended;
  bool done = false;
  VideoCapture capture(options, [&](const VideoEvent& event) {
    std::lock_guard lock(mutex);
    if (auto* c = std::get_if<ClipClosed>(&event)) out.clips.push_back(*c);
    if (auto* s = std::get_if<SegmentClosed>(&event)) out.segments.push_back(*s);
    if (std::holds_alternative<VideoEnded>(event)) {
      done = true;
      ended.notify_all();
    }
  });
  capture.start();
  {
    std::unique_lock lock(mutex);
    EXPECT_TRUE(ended.wait_for(lock, 180s, [&] { return done; })) << "the replay did not end";
  }
  capture.stop();
  return out;
}

// What the control room does: opens the sealed file and writes the MP4 beside it.
std::filesystem::path open_at_control_room(const std::filesystem::path& sealed, const evidence::SigningKey& room,
                                           const std::filesystem::path& out_dir, bool allow_cut = false) {
  const std::string bytes = base::read_bounded(sealed, 256u << 20).value_or("");
  std::string plain;
  if (allow_cut) {
    auto opened = evidence::open_sealed_allowing_cut(bytes, room, 256u << 20);
    EXPECT_TRUE(opened) << sealed << ": " << (opened ? "" : opened.error().message);
    if (opened) plain = std::move(opened->plaintext);
  } else {
    auto opened = evidence::open_sealed(bytes, room, 256u << 20);
    EXPECT_TRUE(opened) << sealed << ": " << (opened ? "" : opened.error().message);
    if (opened) plain = std::move(*opened);
  }
  const auto out = out_dir / sealed.filename();
  EXPECT_TRUE(base::write_durably(out, plain));
  return out;
}

// Windows of the plaintext's picture data (past the movie header), each long enough that finding
// one in the sealed bytes could not be chance.
std::vector<std::string> picture_windows(const std::string& plain) {
  std::vector<std::string> out;
  const std::size_t from = std::min<std::size_t>(plain.size(), 4096);
  for (std::size_t at = from; at + 32 <= plain.size() && out.size() < 200; at += (plain.size() - from) / 200 + 1) {
    out.push_back(plain.substr(at, 32));
  }
  return out;
}

}  // namespace

TEST(SealedRecording, ClipsAndSegmentsOnTheCardRevealNothingAndTheControlRoomPlaysEveryFrame) {
  test::TempDir dir;
  const auto room = evidence::SigningKey::generate();
  auto sinks = evidence::sealing_sinks(room.public_hex());
  ASSERT_TRUE(sinks) << sinks.error().message;
  const Recorded recorded = record_sealed(dir.path(), *sinks);
  ASSERT_GE(recorded.segments.size(), 3u);
  ASSERT_GE(recorded.clips.size(), 1u);
  std::filesystem::create_directories(dir.path() / "room");

  std::uint64_t segment_frames = 0, probed_segment_frames = 0;
  std::vector<std::filesystem::path> sealed_files;
  for (const auto& s : recorded.segments) {
    ASSERT_TRUE(s.error.empty()) << s.id << ": " << s.error;
    ASSERT_TRUE(s.sealed) << s.id;
    sealed_files.push_back(s.file);
    segment_frames += s.frames;
  }
  for (const auto& c : recorded.clips) {
    ASSERT_TRUE(c.error.empty()) << c.id << ": " << c.error;
    ASSERT_TRUE(c.sealed) << c.id;
    sealed_files.push_back(c.file);
  }
  EXPECT_EQ(segment_frames, 795u) << "every frame of vtest.avi is in a sealed segment";

  for (std::size_t i = 0; i < sealed_files.size(); ++i) {
    const auto& file = sealed_files[i];
    const std::string on_card = base::read_bounded(file, 256u << 20).value_or("");
    EXPECT_TRUE(evidence::looks_sealed(on_card)) << file;
    EXPECT_EQ(on_card.find("ftyp"), std::string::npos) << file << " must not be an MP4 to whoever takes the card";
    EXPECT_EQ(on_card.find("moov"), std::string::npos) << file;
    EXPECT_EQ(on_card.find("avc1"), std::string::npos) << file;
    // The sidecar on the card says what it opens to, never how.
    const auto sidecar = json::parse(base::read_bounded(file.parent_path() / (file.stem().string() + ".json"), 1u << 16)
                                         .value_or("{}"));
    const auto summary = sealed_from_json(sidecar);
    ASSERT_TRUE(summary) << file << ": " << sidecar.dump();
    EXPECT_EQ(summary->scheme, evidence::kSealedScheme);

    const auto opened = open_at_control_room(file, room, dir.path() / "room");
    const std::string plain = base::read_bounded(opened, 256u << 20).value_or("");
    EXPECT_EQ(plain.size(), summary->plaintext_bytes);
    EXPECT_EQ(evidence::sha256_hex(plain), summary->plaintext_sha256) << "the hash the manifest will sign";
    EXPECT_EQ(plain.substr(4, 4), "ftyp");
    std::size_t found = 0;
    for (const std::string& window : picture_windows(plain)) found += on_card.find(window) != std::string::npos;
    EXPECT_EQ(found, 0u) << file << ": no stretch of the pictures is on the card";

    const json probed = ffprobe(opened);
    const std::uint64_t frames = frames_of(probed);
    const bool segment = i < recorded.segments.size();
    EXPECT_EQ(frames, segment ? recorded.segments[i].frames : recorded.clips[i - recorded.segments.size()].frames) << file;
    if (segment) probed_segment_frames += frames;
    const UtcTime start = segment ? recorded.segments[i].start_utc : recorded.clips[i - recorded.segments.size()].start_utc;
    ASSERT_TRUE(probed.contains("format")) << probed.dump();
    const std::string created = probed["format"]["tags"].value("creation_time", "");
    EXPECT_EQ(created.substr(0, 19), utc_iso8601(start).substr(0, 19)) << "the creation time set before sealing";

    // Anyone else's key, the device's own included, opens nothing.
    auto wrong = evidence::open_sealed(on_card, evidence::SigningKey::generate(), 256u << 20);
    ASSERT_FALSE(wrong);
    EXPECT_NE(wrong.error().message.find("sealed for another key"), std::string::npos);
  }
  EXPECT_EQ(probed_segment_frames, 795u) << "the control room plays every frame the camera gave";
}

// A power cut while a sealed clip was being written: the device keeps its whole records (it
// cannot read them), finishes it as a clip cut short, and the control room opens what is there
// and plays every whole fragment of it.
TEST(SealedRecording, ASealedClipCutShortIsKeptToItsWholeRecordsAndPlaysAtTheControlRoom) {
  test::TempDir dir;
  const auto room = evidence::SigningKey::generate();
  auto sinks = evidence::sealing_sinks(room.public_hex());
  ASSERT_TRUE(sinks);
  const Recorded recorded = record_sealed(dir.path(), *sinks);
  ASSERT_FALSE(recorded.segments.empty());
  const SegmentClosed& whole = recorded.segments.front();  // 10 s of sealed video
  ASSERT_TRUE(whole.error.empty()) << whole.error;

  // As the power cut left it: a .part in the clips folder with its opening sidecar, cut at 60 %.
  const auto clips = dir.path() / "cut";
  std::filesystem::create_directories(clips);
  const std::string id = "home-3-cam0-20261201T210000Z";
  const auto part = clips / (id + ".mp4.part");
  const std::string bytes = base::read_bounded(whole.file, 256u << 20).value_or("");
  ASSERT_TRUE(base::write_durably(part, bytes.substr(0, bytes.size() * 6 / 10)));
  ASSERT_TRUE(base::write_durably(clips / (id + ".json"),
                                  json{{"clip", id}, {"device", "home-3"}, {"camera", "cam0"},
                                       {"utc_start", utc_iso8601(whole.start_utc)}, {"state", "recording"},
                                       {"sealing", true}, {"video", "video/x-h264"}}
                                      .dump()));
  ASSERT_TRUE(evidence::file_looks_sealed(part));
  const std::uint64_t keep = evidence::whole_records_end_of_file(part);
  EXPECT_GT(keep, 0u);
  EXPECT_LE(keep, bytes.size() * 6 / 10);
  auto salvaged = salvage_sealed_clip(part, keep, std::string(evidence::kSealedScheme));
  ASSERT_TRUE(salvaged) << salvaged.error().message;
  EXPECT_FALSE(std::filesystem::exists(part));
  const auto& clip = salvaged->clip;
  EXPECT_EQ(clip.file, clips / (id + ".mp4"));
  EXPECT_EQ(std::filesystem::file_size(clip.file), keep);
  EXPECT_NE(clip.reason.find("cut short: power loss or crash"), std::string::npos) << clip.reason;
  EXPECT_NE(clip.reason.find("sealed"), std::string::npos) << clip.reason;
  EXPECT_EQ(clip.start_utc, whole.start_utc) << "from the opening sidecar";
  ASSERT_TRUE(clip.sealed);
  EXPECT_TRUE(clip.sealed->plaintext_sha256.empty()) << "the device cannot hash what it cannot read";
  const auto sidecar = json::parse(base::read_bounded(clip.sidecar, 1u << 16).value_or("{}"));
  EXPECT_EQ(sidecar.value("cut_short", false), true);
  EXPECT_TRUE(sealed_from_json(sidecar));

  // The control room: every whole record, then every whole fragment, and it plays.
  std::filesystem::create_directories(dir.path() / "room");
  const auto opened = open_at_control_room(clip.file, room, dir.path() / "room", true);
  auto fragments = cut_to_whole_fragments(opened);
  ASSERT_TRUE(fragments) << fragments.error().message;
  EXPECT_GE(*fragments, 4u) << "about six of the ten one-second fragments survive a cut at 60 %";
  const std::uint64_t frames = frames_of(ffprobe(opened));
  EXPECT_GE(frames, whole.frames * 4 / 10);
  EXPECT_LT(frames, whole.frames);
  EXPECT_EQ(frames % 10, 0u) << "whole one-second fragments of 10 frames (vtest is 10 fps)";
}
