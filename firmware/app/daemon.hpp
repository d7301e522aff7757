#pragma once
// assure-edged: wires the board, the video capture and the uplink, and runs the main loop.

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>

#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"
#include "assure/hal/board.hpp"
#include "assure/pipelines/capture.hpp"
#include "app/event_queue.hpp"
#include "alarm/panel.hpp"
#include "app/uplink_service.hpp"

namespace assure::app {

struct StopRequest {};
struct IncomingCommand {  // from cmd/<name>; checked and obeyed on the main loop
  std::string name;
  std::string payload;
};
using DaemonEvent = std::variant<pipelines::VideoEvent, hal::InputEvent, IncomingCommand, StopRequest>;

std::optional<pipelines::MotionSettings> motion_settings(const config::MotionConfig& motion);
// The capture as the device config and board file ask for it: source, masks, motion and clips.
Result<pipelines::CaptureOptions> capture_options(const config::DeviceConfig& config, const config::BoardFile& board);

class Daemon {
 public:
  // Opens the board and prepares every part; nothing runs until run(). Errors say what and where.
  static Result<std::unique_ptr<Daemon>> create(config::DeviceConfig config, config::BoardFile board);
  ~Daemon();

  // Runs until request_stop(); returns the process exit code.
  int run();
  void request_stop();  // any thread; async-signal-unsafe, call it from a signal-waiting thread

  static std::string new_boot_id();

 private:
  Daemon(config::DeviceConfig config, config::BoardFile board, hal::Board opened,
         pipelines::CaptureOptions capture, alarm::PanelSettings panel);
  void read_inputs();
  void handle(const DaemonEvent& event);
  void send_heartbeat();
  void on_video(const pipelines::VideoEvent& video);
  void on_command(const IncomingCommand& incoming);
  uplink::Event event(std::string type, std::string source, std::string severity) const;
  void report(const std::vector<alarm::AlarmEvent>& events);
  void to_panel(std::string_view zone, bool active);

  config::DeviceConfig config_;
  config::BoardFile board_file_;
  hal::Board board_;
  pipelines::CaptureOptions capture_options_;  // made once by create(), which refuses bad ones
  alarm::Panel panel_;
  std::string boot_id_;
  std::chrono::steady_clock::time_point started_;

  EventQueue<DaemonEvent> events_;
  std::unique_ptr<pipelines::VideoCapture> capture_;
  std::unique_ptr<UplinkService> uplink_;
  std::map<std::string, std::vector<std::string>> clip_events_;  // clip id -> events raised while it was open
  std::vector<uplink::Command> snapshot_requests_;               // waiting for the next frame
  std::thread input_thread_;
  std::atomic<bool> stopping_{false};

  std::string video_state_ = "starting";
  std::uint64_t video_losses_ = 0;
  std::uint64_t input_edges_ = 0;
  std::uint64_t motion_events_ = 0;
  std::uint64_t clips_ = 0;
  std::uint64_t clip_failures_ = 0;
  std::string last_clip_;
  std::string open_clip_;  // the clip being written, named in motion log lines
  std::uint64_t frames_at_last_heartbeat_ = 0;
  std::chrono::steady_clock::time_point last_heartbeat_;
};

}  // namespace assure::app
