#pragma once
// assure-edged: wires the board, the video capture and the uplink, and runs the main loop.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>

#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"
#include "assure/drivers/service_manager.hpp"
#include "assure/hal/board.hpp"
#include "assure/pipelines/capture.hpp"
#include "app/event_queue.hpp"
#include "alarm/outputs.hpp"
#include "alarm/panel.hpp"
#include "alarm/shock.hpp"
#include "app/uplink_service.hpp"

namespace assure::app {

struct StopRequest {};
struct IncomingCommand {  // from cmd/<name>; checked and obeyed on the main loop
  std::string name;
  std::string payload;
};
using DaemonEvent = std::variant<pipelines::VideoEvent, hal::InputEvent, IncomingCommand, StopRequest>;

// The devices around the panel, as the device file asks and checked against the board: shock
// sensors, keyfobs, security lights and the sounder.
struct DeviceSettings {
  std::map<std::string, alarm::ShockSettings, std::less<>> shocks;  // by input
  std::map<std::string, std::string, std::less<>> keyfobs;          // input -> action
  std::vector<alarm::LightSettings> lights;
  std::optional<alarm::SounderSettings> sounder;
};
// The alarm zones the device file asks for, each checked against the board's inputs.
Result<alarm::PanelSettings> panel_settings(const config::DeviceConfig& config, const config::BoardFile& board);
Result<DeviceSettings> device_settings(const config::DeviceConfig& config, const config::BoardFile& board);

std::optional<pipelines::MotionSettings> motion_settings(const config::MotionConfig& motion);
// The capture as the device config and board file ask for it: source, masks, motion and clips.
Result<pipelines::CaptureOptions> capture_options(const config::DeviceConfig& config, const config::BoardFile& board);

class Daemon {
 public:
  // Opens the board and prepares every part; nothing runs until run(). Errors say what and where.
  static Result<std::unique_ptr<Daemon>> create(config::DeviceConfig config, config::BoardFile board);
  // The same on a board opened by the caller (a sim board the caller drives: the benchmarks).
  static Result<std::unique_ptr<Daemon>> create(config::DeviceConfig config, config::BoardFile board, hal::Board opened);
  ~Daemon();

  // Runs until request_stop(); returns the process exit code.
  int run();
  void request_stop();  // any thread; async-signal-unsafe, call it from a signal-waiting thread
  // Called on the main loop with each event once it is stored in the outbox (and its id). Set it
  // before run(); for measurements.
  void on_raised(std::function<void(const uplink::Event&, const std::string& id)> observer) {
    raised_ = std::move(observer);
  }

  static std::string new_boot_id();

 private:
  Daemon(config::DeviceConfig config, config::BoardFile board, hal::Board opened,
         pipelines::CaptureOptions capture, alarm::PanelSettings panel, DeviceSettings devices);
  void read_inputs();
  void handle(const DaemonEvent& event);
  void send_heartbeat();
  void on_video(const pipelines::VideoEvent& video);
  void on_command(const IncomingCommand& incoming);
  uplink::Event event(std::string type, std::string source, std::string severity) const;
  void report(const std::vector<alarm::AlarmEvent>& events);
  void to_panel(std::string_view zone, bool active);
  void on_input(const hal::InputEvent& edge);
  void to_lights(std::string_view trigger, bool active);
  void apply(const std::vector<alarm::Switch>& switches);
  void tick_devices();
  std::optional<std::chrono::steady_clock::time_point> device_deadline() const;
  // The one entry point for arming and disarming: the control room's command, a keyfob, and the
  // engineer's shell. action: arm_away, arm_home, disarm, toggle.
  Result<void> arm_or_disarm(std::string_view action, std::string_view who);
  void obey(const uplink::Command& command);  // an admitted command
  std::string raise(uplink::Event event, const std::vector<std::uint8_t>* jpeg = nullptr);
  void on_outputs_command(const uplink::Command& command);

  config::DeviceConfig config_;
  config::BoardFile board_file_;
  hal::Board board_;
  pipelines::CaptureOptions capture_options_;  // made once by create(), which refuses bad ones
  drivers::ServiceManager service_;  // systemd, when it runs the daemon
  alarm::Panel panel_;
  std::map<std::string, alarm::ShockCounter, std::less<>> shocks_;
  std::map<std::string, std::string, std::less<>> keyfobs_;
  std::vector<alarm::SecurityLight> lights_;
  std::optional<alarm::Sounder> sounder_;
  bool alarm_lit_ = false;  // the lights' "alarm" trigger is active
  std::string boot_id_;
  std::chrono::steady_clock::time_point started_;

  EventQueue<DaemonEvent> events_;
  std::unique_ptr<pipelines::VideoCapture> capture_;
  std::unique_ptr<UplinkService> uplink_;
  std::map<std::string, std::vector<std::string>> clip_events_;  // clip id -> events raised while it was open
  std::vector<uplink::Command> snapshot_requests_;               // waiting for the next frame
  std::thread input_thread_;
  std::atomic<bool> stopping_{false};
  std::function<void(const uplink::Event&, const std::string&)> raised_;

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
