// assure-replay: the device's capture, motion and tamper detectors over a video file, as fast as
// the machine allows. One line per finished motion event, tamper and restore (and clip, with
// --clips), then a summary.
//   assure-replay [--config FILE] [--board-dir DIR] [--clips DIR] [--json] VIDEO

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "assure/firmware/settings.hpp"
#include "assure/base/utc.hpp"
#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"
#include "assure/firmware/version.hpp"
#include "assure/pipelines/capture.hpp"

namespace {

using nlohmann::json;
using namespace assure;

constexpr std::string_view kUsage = R"(usage: assure-replay [--config FILE] [--board-dir DIR] [--clips DIR] [--snapshots DIR] [--json] VIDEO

Runs the device's video pipeline, motion and tamper detectors over VIDEO (any container GStreamer
decodes) as fast as the machine allows and prints one line per finished motion event, per tamper
and per tamper restored, then a summary.

  --config FILE    a device file: its [motion] and [tamper] settings, privacy masks and [evidence] timings
                   (default: the defaults)
  --board-dir DIR  where the device's board folder is, for its encoder (default: the installed boards)
  --clips DIR      also encode and cut evidence clips into DIR exactly as the device would; clip
                   times are UTC from the start of the replay. Without it only decoding and the
                   analysis run, so the figures are the detector's.
  --snapshots DIR  write the snapshot of each motion start, as the control room gets it, to
                   DIR/motion-<start frame>.jpg (the box drawn, privacy masks burnt in)
  --json           one JSON object per line: {"type":"motion",...}, {"type":"clip",...},
                   {"type":"tamper","kind":"covered|defocused|moved","frame":N,"ms":T,...},
                   {"type":"tamper_restored",...}, then {"type":"summary",...}
)";

double ms(std::chrono::nanoseconds t) { return std::chrono::duration<double, std::milli>(t).count(); }

json box_json(const pipelines::Box& b) {
  return json{{"x", std::round(b.x * 1000) / 1000}, {"y", std::round(b.y * 1000) / 1000},
              {"w", std::round(b.w * 1000) / 1000}, {"h", std::round(b.h * 1000) / 1000}};
}

}  // namespace

int main(int argc, char** argv) try {
  std::string config_file, video, clips_dir, snapshots_dir;
  std::filesystem::path board_dir = kDefaultBoardDir;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) config_file = argv[++i];
    else if (arg == "--clips" && i + 1 < argc) clips_dir = argv[++i];
    else if (arg == "--snapshots" && i + 1 < argc) snapshots_dir = argv[++i];
    else if (arg == "--board-dir" && i + 1 < argc) board_dir = argv[++i];
    else if (arg == "--json") as_json = true;
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (!arg.empty() && arg[0] != '-' && video.empty()) video = arg;
    else {
      std::cerr << "assure-replay: unknown or incomplete argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if (video.empty()) {
    std::cerr << "assure-replay: no video given\n" << kUsage;
    return 2;
  }
  auto loaded = config_file.empty()
                    ? config::parse_device_config("[device]\nid = \"replay\"\nsite = \"replay\"\n", "(defaults)", ".")
                    : config::load_device_config(config_file);
  if (!loaded) {
    std::cerr << config::to_string(loaded.error());
    return 2;
  }
  config::DeviceConfig device = std::move(*loaded);
  device.motion.enabled = true;
  device.evidence.enabled = !clips_dir.empty();
  device.evidence.dir = clips_dir;
  config::BoardFile board;  // only its encoder is used: x264enc unless the device's board says otherwise
  board.encoder = "x264enc";
  if (!clips_dir.empty() && std::filesystem::exists(board_dir / device.board / "board.toml")) {
    auto found = config::load_board(board_dir, device.board);
    if (!found) {
      std::cerr << config::to_string(found.error());
      return 2;
    }
    board = std::move(*found);
  }
  auto configured = app::capture_options(device, board);
  if (!configured) {
    std::cerr << "assure-replay: " << configured.error().message << "\n";
    return 2;
  }

  if (!snapshots_dir.empty()) {
    std::error_code made;
    std::filesystem::create_directories(snapshots_dir, made);
    if (made) {
      std::cerr << "assure-replay: cannot make the snapshot folder " << snapshots_dir << ": " << made.message() << "\n";
      return 2;
    }
  }
  std::map<std::int64_t, std::string> snapshots;  // by start frame

  std::mutex mutex;
  std::condition_variable done;
  bool ended = false;
  std::string failure;
  std::uint64_t events = 0;
  std::uint64_t clips = 0;
  std::uint64_t clip_failures = 0;
  std::uint64_t tampers = 0;
  double framerate = 0;
  const bool progress = !as_json && isatty(STDERR_FILENO);

  pipelines::CaptureOptions options = std::move(*configured);
  options.source = {.kind = "file", .location = video};
  options.realtime = false;
  options.retry = false;
  if (options.recording) options.recording->utc_origin = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  pipelines::VideoCapture capture(options, [&](const pipelines::VideoEvent& event) {
    std::lock_guard lock(mutex);
    if (auto* s = std::get_if<pipelines::VideoStarted>(&event)) framerate = s->framerate;
    if (auto* lost = std::get_if<pipelines::VideoLost>(&event)) {
      if (lost->reason.rfind("end of stream", 0) != 0) failure = lost->reason;
    }
    if (auto* start = std::get_if<pipelines::MotionStart>(&event); start && !snapshots_dir.empty()) {
      const auto file = std::filesystem::path(snapshots_dir) / fmt::format("motion-{}.jpg", start->start_frame);
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(start->snapshot_jpeg.data()),
                static_cast<std::streamsize>(start->snapshot_jpeg.size()));
      out.close();
      if (!out) failure = "cannot write the snapshot " + file.string();
      snapshots[start->start_frame] = file.string();
    }
    if (auto* end = std::get_if<pipelines::MotionEnd>(&event)) {
      ++events;
      const auto snapshot = snapshots.find(end->start_frame);
      if (progress) std::fputs("\r\033[K", stderr);
      if (as_json) {
        std::cout << json{{"type", "motion"},       {"start_frame", end->start_frame},
                          {"end_frame", end->end_frame}, {"start_ms", std::lround(ms(end->start_pts))},
                          {"end_ms", std::lround(ms(end->end_pts))}, {"box", box_json(end->box)},
                          {"split", end->split},
                          {"snapshot", snapshot == snapshots.end() ? json(nullptr) : json(snapshot->second)}}
                         .dump()
                  << std::endl;
      } else {
        std::printf("motion  frames %lld-%lld  %.1f s - %.1f s  box x %.2f y %.2f w %.2f h %.2f%s\n",
                    static_cast<long long>(end->start_frame), static_cast<long long>(end->end_frame),
                    ms(end->start_pts) / 1000, ms(end->end_pts) / 1000, end->box.x, end->box.y, end->box.w,
                    end->box.h, end->split ? "  (split: longer than motion.max_event)" : "");
        std::fflush(stdout);
      }
    }
    if (auto* t = std::get_if<pipelines::TamperStart>(&event)) {
      ++tampers;
      if (progress) std::fputs("\r\033[K", stderr);
      if (as_json) {
        std::cout << json{{"type", "tamper"}, {"kind", to_string(t->kind)}, {"frame", t->frame},
                          {"ms", std::lround(ms(t->pts))}, {"began_frame", t->began_frame},
                          {"began_ms", std::lround(ms(t->began_pts))}}
                         .dump()
                  << std::endl;
      } else {
        std::printf("tamper  %s at frame %lld (%.1f s), suspect since frame %lld (%.1f s)\n",
                    std::string(to_string(t->kind)).c_str(), static_cast<long long>(t->frame), ms(t->pts) / 1000,
                    static_cast<long long>(t->began_frame), ms(t->began_pts) / 1000);
        std::fflush(stdout);
      }
    }
    if (auto* t = std::get_if<pipelines::TamperEnd>(&event)) {
      if (progress) std::fputs("\r\033[K", stderr);
      if (as_json) {
        std::cout << json{{"type", "tamper_restored"}, {"kind", to_string(t->kind)}, {"frame", t->frame},
                          {"ms", std::lround(ms(t->pts))}}
                         .dump()
                  << std::endl;
      } else {
        std::printf("restore %s at frame %lld (%.1f s)\n", std::string(to_string(t->kind)).c_str(),
                    static_cast<long long>(t->frame), ms(t->pts) / 1000);
        std::fflush(stdout);
      }
    }
    if (auto* clip = std::get_if<pipelines::ClipClosed>(&event)) {
      ++(clip->error.empty() ? clips : clip_failures);
      if (progress) std::fputs("\r\033[K", stderr);
      if (as_json) {
        std::cout << json{{"type", "clip"},
                          {"clip", clip->id},
                          {"file", clip->file.string()},
                          {"sidecar", clip->sidecar.string()},
                          {"utc_start", utc_iso8601(clip->start_utc)},
                          {"utc_end", utc_iso8601(clip->end_utc)},
                          {"frames", clip->frames},
                          {"events", clip->events.size()},
                          {"reason", clip->reason},
                          {"error", clip->error.empty() ? json(nullptr) : json(clip->error)}}
                         .dump()
                  << std::endl;
      } else {
        std::printf("clip    %s  %llu frames  %.1f s  %zu event(s)  (%s)%s%s\n", clip->file.string().c_str(),
                    static_cast<unsigned long long>(clip->frames),
                    std::chrono::duration<double>(clip->end_utc - clip->start_utc).count(), clip->events.size(),
                    clip->reason.c_str(), clip->error.empty() ? "" : "  FAILED: ", clip->error.c_str());
        std::fflush(stdout);
      }
    }
    if (std::holds_alternative<pipelines::VideoEnded>(event)) {
      ended = true;
      done.notify_all();
    }
  });
  capture.start();
  {
    std::unique_lock lock(mutex);
    while (!done.wait_for(lock, std::chrono::milliseconds{500}, [&] { return ended; })) {
      if (progress) std::fprintf(stderr, "\r\033[Kframes %llu, events %llu", static_cast<unsigned long long>(capture.frames()),
                                 static_cast<unsigned long long>(events));
    }
  }
  capture.stop();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (progress) std::fputs("\r\033[K", stderr);
  if (!failure.empty()) {
    std::cerr << "assure-replay: " << video << ": " << failure << "\n";
    return 1;
  }
  const auto stats = capture.analysis();
  const double media = framerate > 0 ? static_cast<double>(capture.frames()) / framerate : 0;
  json summary{{"type", "summary"},
               {"frames", capture.frames()},
               {"analysed", stats.frames},
               {"events", events},
               {"tampers", tampers},
               {"clips", clips},
               {"clip_failures", clip_failures},
               {"wall_s", std::round(wall * 1000) / 1000},
               {"media_s", std::round(media * 1000) / 1000},
               {"speed_x_realtime", wall > 0 ? std::round(media / wall * 10) / 10 : 0},
               {"fps", wall > 0 ? std::round(static_cast<double>(capture.frames()) / wall) : 0},
               {"analysis_ms_per_frame",
                stats.frames ? std::round(stats.busy_seconds / static_cast<double>(stats.frames) * 1e6) / 1e3 : 0}};
  if (clip_failures > 0) {
    std::cerr << "assure-replay: " << clip_failures << " clip(s) could not be written whole (see above)\n";
  }
  if (as_json) {
    std::cout << summary.dump() << std::endl;
  } else {
    std::printf("%llu frames (%.1f s of video) in %.2f s: %.1fx real time; %llu motion events; analysis %.3f ms a frame\n",
                static_cast<unsigned long long>(capture.frames()), media, wall, media / std::max(wall, 1e-9),
                static_cast<unsigned long long>(events), summary["analysis_ms_per_frame"].get<double>());
  }
  return clip_failures > 0 ? 1 : 0;
} catch (const std::exception& e) {
  std::cerr << "assure-replay: " << e.what() << "\n";
  return 1;
}
