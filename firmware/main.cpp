// assure-edged: the appliance daemon.
//   assure-edged --config FILE [--board-dir DIR] [--check]

#include <spdlog/spdlog.h>

#include <malloc.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <string_view>

#include "assure/firmware/daemon.hpp"
#include "assure/firmware/settings.hpp"
#include "assure/firmware/shell/fallback.hpp"
#include "assure/firmware/signals.hpp"
#include "assure/firmware/version.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: assure-edged --config FILE [--board-dir DIR] [--check]

  --config FILE     the device configuration (TOML); see config/REFERENCE.md
  --board-dir DIR   the folder holding one folder per board (default: the built-in one)
  --check           validate the configuration and the board file, then exit
  --version         print the firmware version
)";

struct Args {
  std::string config;
  std::string board_dir = assure::kDefaultBoardDir;
  bool check = false;
};

int usage_error(std::string_view message) {
  std::cerr << "assure-edged: " << message << "\n" << kUsage;
  return 2;
}

}  // namespace

// The heap of a small board: two arenas, not eight a core, for the daemon's threads. (Forcing
// frames to be mapped and unmapped each time costs a page fault per 4 KiB of every frame: a
// 720p raw source doubled its CPU a frame, pipeline_bench, for about 10 MB less peak RSS.)
void small_board_heap() { mallopt(M_ARENA_MAX, 2); }

int main(int argc, char** argv) try {
  small_board_heap();
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--config") {
      const char* v = value();
      if (v == nullptr) return usage_error("--config needs a file");
      args.config = v;
    } else if (arg == "--board-dir") {
      const char* v = value();
      if (v == nullptr) return usage_error("--board-dir needs a folder");
      args.board_dir = v;
    } else if (arg == "--check") {
      args.check = true;
    } else if (arg == "--version") {
      std::cout << assure::kFirmwareVersion << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      return usage_error("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (args.config.empty()) return usage_error("--config is required");

  auto config = assure::config::load_device_config(args.config);
  std::optional<assure::shell::Fallback> fallback;
  if (!config) {
    const std::string why = assure::config::to_string(config.error());
    std::cerr << why;
    if (args.check) return 2;
    // A broken device file never leaves the device offline: the last good revision runs instead.
    fallback = assure::shell::last_good_config(args.config, why);
    if (!fallback) return 2;
    std::cerr << "assure-edged: " << args.config << " is not valid; running revision " << fallback->details["revision"]
              << " (the last known good) instead\n";
    config = fallback->config;
  }
  auto board = assure::config::load_board(args.board_dir, config->board);
  if (!board) {
    std::cerr << assure::config::to_string(board.error());
    return 2;
  }
  if (args.check) {
    // What only the two together can say: zones, lights and the sounder against the board's lines,
    // the camera and the encoder.
    auto checked = assure::app::settings(*config, *board);
    if (!checked) {
      std::cerr << checked.error().message << "\n";
      return 2;
    }
    if (!checked->recording_refused.empty()) {  // it would run, but record nothing: not ok
      std::cerr << checked->recording_refused << "\n";
      return 2;
    }
    std::cout << args.config << ": ok (board " << board->spec.name << ", " << board->spec.inputs.size()
              << " inputs, " << board->spec.outputs.size() << " outputs)\n";
    return 0;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  std::unique_ptr<assure::app::Daemon> daemon;  // outlives the signal thread below
  std::atomic<bool> stop_early{false};
  std::atomic<assure::app::Daemon*> running{nullptr};
  assure::app::StopSignals signals([&](int signal_number) {
    spdlog::info("received {}", strsignal(signal_number));
    stop_early = true;
    if (auto* d = running.load()) d->request_stop();
  });
  auto created = assure::app::Daemon::create(std::move(*config), std::move(*board));
  if (!created) {
    spdlog::critical("{}", created.error().message);
    return 1;
  }
  daemon = std::move(*created);
  if (fallback) {
    spdlog::critical("config: {} is not valid; running revision {} (the last known good) instead", args.config,
                     fallback->details["revision"].dump());
    daemon->running_text(fallback->text);
    daemon->note_at_start(assure::EventType::config_fallback, fallback->details);
  }
  running = daemon.get();
  if (stop_early) daemon->request_stop();
  const int code = daemon->run();
  running = nullptr;
  return code;
} catch (const std::exception& e) {
  spdlog::critical("assure-edged: {}", e.what());
  return 1;
}
