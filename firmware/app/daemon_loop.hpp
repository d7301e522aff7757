#pragma once
// The running daemon (private to app/): daemon.cpp holds its loop and threads, daemon_shell.cpp
// what it lends the engineer's shell (live apply of a commit, status, inputs, outputs).

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "app/event_queue.hpp"
#include "app/evidence_keeper.hpp"
#include "assure/firmware/field_tests.hpp"
#include "app/heartbeat.hpp"
#include "app/site_outlet.hpp"
#include "app/video_desk.hpp"
#include "assure/drivers/service_manager.hpp"
#include "assure/firmware/daemon.hpp"
#include "assure/firmware/device_commands.hpp"
#include "assure/firmware/schedule.hpp"
#include "assure/firmware/settings.hpp"
#include "assure/firmware/shell/control_socket.hpp"
#include "assure/firmware/shell/desk.hpp"
#include "assure/firmware/shell/gatekeeper.hpp"
#include "assure/firmware/uplink_service.hpp"

namespace assure::app {

struct StopRequest {};
struct IncomingCommand {  // from cmd/<name>; checked and obeyed on the main loop
  std::string name;
  std::string payload;
};
struct ShellGone {
  std::uint64_t client;
};
struct RecordingStop {  // from the evidence keeper: continuous recording stops (or resumes)
  bool stop = false;
  std::string why;
};
using DaemonEvent = std::variant<pipelines::VideoEvent, hal::InputEvent, IncomingCommand, shell::Gatekeeper::Forward,
                                 shell::Gatekeeper::Refused, ShellGone, RecordingStop, StopRequest>;

inline Schedule::Time monotonic(const hal::Clock& clock) {
  return Schedule::Time{std::chrono::duration_cast<Schedule::Time::duration>(clock.monotonic())};
}

class Daemon::Loop final : public DeviceControl, public shell::DeskHost {
 public:
  Loop(config::DeviceConfig config, config::BoardFile board_file, hal::Board board, Settings settings,
       std::string running_text);
  ~Loop() override;

  int run();
  void request_stop();
  std::function<void(const uplink::Event&, const std::string&)> raised;
  std::vector<std::pair<EventType, nlohmann::json>> start_notes;  // raised once the uplink runs
  void running_text(std::string text) { running_text_ = std::move(text); }

  // What the commands may use (DeviceControl).
  alarm::Site& site() override { return site_; }
  alarm::Moment now() const override { return {monotonic(*board_.clock), board_.clock->utc()}; }
  void carry_out(const alarm::Happenings& happened) override { outlet_.carry_out(happened); }
  nlohmann::json identity() const override;
  std::string no_picture() const override;
  void request_snapshot() override { capture_->request_snapshot(); }
  std::string accept_view(std::string_view who) override;
  Result<std::size_t> resend_clip(const std::string& clip) override {
    return uplink_->resend_clip(config_.evidence.dir, clip);
  }
  Result<nlohmann::json> change_config(const nlohmann::json& args, std::string_view who) override {
    if (!desk_) return fail(Errc::invalid_argument, "the device's configuration desk is not running (see its log)");
    return desk_->remote(args, std::string(who));
  }
  bool link_echo(const std::string& nonce) override { return field_tests_.echoed(nonce, monotonic(*board_.clock)); }
  std::string no_evidence_store() const override {
    return keeper_ ? "" : "this device keeps no continuous recording (evidence.recording, the board's profile)";
  }

  // What the engineer's shell may use (DeskHost, daemon_shell.cpp).
  Result<void> check(const config::DeviceConfig& next) const override;
  Result<void> apply(const config::DeviceConfig& next, const shell::RestartPlan& plan) override;
  nlohmann::json status() const override;
  nlohmann::json inputs() const override;
  nlohmann::json outputs() const override;
  nlohmann::json events(std::size_t count) const override;
  nlohmann::json log(std::size_t count) const override;
  nlohmann::json command(const std::string& name, const nlohmann::json& args, const std::string& who) override;
  void report(EventType type, Severity severity, nlohmann::json details) override;
  std::chrono::system_clock::time_point utc() const override { return board_.clock->utc(); }

 private:
  bool start_watchdog();
  bool start_parts();  // the uplink, the video, the inputs and the shell
  Result<std::unique_ptr<UplinkService>> open_uplink();
  void start_capture();
  void start_evidence_keeper();
  void read_light_sensors();
  void start_shell();
  void stop_parts(bool use_watchdog);
  void read_inputs();
  void handle(const DaemonEvent& event);
  void on_input(const hal::InputEvent& edge);
  void on_video(const pipelines::VideoEvent& video);
  void on_command(const IncomingCommand& incoming);
  void on_shell(const shell::Gatekeeper::Forward& request);
  void on_login_refused(const shell::Gatekeeper::Refused& refused);
  // The field tests and reboot (daemon_shell.cpp); false: the request is the desk's.
  bool on_field_test(const shell::Gatekeeper::Forward& request);
  void mqtt_test(const shell::Gatekeeper::Forward& request);
  void reboot(const shell::Gatekeeper::Forward& request);
  std::vector<std::string> motion_zone_names() const;
  // The capture measures aim readings exactly while some shell is aiming.
  void sync_aim() {
    if (capture_) capture_->aim(field_tests_.aiming());
  }
  void send_heartbeat(Schedule::Time now);
  std::string raise(uplink::Event event, const std::vector<std::uint8_t>* jpeg = nullptr);

  config::DeviceConfig config_;
  config::BoardFile board_file_;
  hal::Board board_;
  pipelines::CaptureOptions capture_options_;
  alarm::Site site_;
  std::string boot_id_;
  std::string running_text_;  // the device file as it runs, for the shell
  Schedule::Time started_;
  Dispatcher commands_;
  SiteOutlet outlet_;
  VideoDesk video_;
  HeartbeatMaker heartbeats_;
  drivers::ServiceManager service_;  // systemd, when it runs the daemon

  EventQueue<DaemonEvent> events_;
  std::unique_ptr<pipelines::VideoCapture> capture_;
  std::unique_ptr<UplinkService> uplink_;
  std::unique_ptr<EvidenceKeeper> keeper_;  // continuous recording only
  std::optional<std::string> segments_stopped_;  // why continuous recording is stopped, for a restarted capture
  std::vector<uplink::Command> snapshot_requests_;  // waiting for the next frame
  std::thread input_thread_;
  std::atomic<bool> stopping_{false};
  std::uint64_t input_edges_ = 0;

  std::unique_ptr<shell::Desk> desk_;
  std::unique_ptr<shell::Gatekeeper> gatekeeper_;
  std::unique_ptr<shell::ControlSocket> socket_;  // last made, first gone: it calls the two above
  std::atomic<shell::ControlSocket*> socket_ready_{nullptr};  // for the socket's own thread
  FieldTests field_tests_{[this](std::uint64_t client, nlohmann::json line) {
    if (socket_) socket_->send(client, line);
  }};
  int exit_code_ = 0;  // kExitReboot after an engineer's reboot
  std::uint64_t video_starts_ = 0;  // pipelines started since the daemon did: "show status" shows a restart
  struct Raised {  // for "show events": kept as it was raised, made JSON only when shown
    std::chrono::system_clock::time_point time;
    EventType type;
    Severity severity;
    std::string source, zone, id;
  };
  std::deque<Raised> recent_events_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_ring_;  // for "show log"
};

}  // namespace assure::app
