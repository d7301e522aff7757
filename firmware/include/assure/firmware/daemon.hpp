#pragma once
// assure-edged: wires the board, the video capture, the alarm site and the uplink, and runs the
// main loop. What each part is made of lives in its own module (settings, alarm::Site, the
// command table, the video desk, the site's outlet, the heartbeat); the daemon holds the event
// queue and the threads, kicks the watchdogs, and hands each event to the module that owns it.

#include <functional>
#include <memory>
#include <string>

#include "assure/base/error.hpp"
#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"
#include "assure/firmware/kinds.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/hal/board.hpp"

namespace assure::app {

class Daemon {
 public:
  // run()'s exit code after an engineer's "reboot": the daemon has stopped cleanly, and its systemd
  // unit (RestartPreventExitStatus, FailureAction=reboot) reboots the device.
  static constexpr int kExitReboot = 82;

  // Opens the board and prepares every part; nothing runs until run(). Errors say what and where.
  static Result<std::unique_ptr<Daemon>> create(config::DeviceConfig config, config::BoardFile board);
  // The same on a board opened by the caller (a sim board the caller drives: the benchmarks).
  static Result<std::unique_ptr<Daemon>> create(config::DeviceConfig config, config::BoardFile board, hal::Board opened);
  ~Daemon();

  // Runs until request_stop(); returns the process exit code (0, or kExitReboot).
  int run();
  void request_stop();  // any thread; async-signal-unsafe, call it from a signal-waiting thread
  // Called on the main loop with each event once it is stored in the outbox (and its id). Set it
  // before run(); for measurements.
  void on_raised(std::function<void(const uplink::Event&, const std::string& id)> observer);

  // Something for the control room once the uplink runs (the device file fell back to a revision).
  void note_at_start(EventType type, nlohmann::json details);
  // The text the config came from, when it is not the device file's (a fallback revision).
  void running_text(std::string text);

  static std::string new_boot_id();

  class Loop;  // the running parts (app/daemon.cpp)

 private:
  explicit Daemon(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace assure::app
