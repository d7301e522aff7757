// What the daemon lends the engineer's shell: the control socket and its gatekeeper started, each
// request handed to the desk on the loop, a commit applied live where it can be, and the
// device's status, inputs and outputs for the shell's "show".
#include <grp.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "app/daemon_loop.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/version.hpp"

namespace assure::app {
namespace {

std::optional<gid_t> group_named(const std::string& name) {
  if (name.empty()) return std::nullopt;
  std::vector<char> buffer(16384);
  group g{};
  group* found = nullptr;
  if (getgrnam_r(name.c_str(), &g, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    spdlog::warn("shell: no group '{}' on this system: only root and the daemon's user may use the shell", name);
    return std::nullopt;
  }
  return g.gr_gid;
}

}  // namespace

void Daemon::Loop::start_shell() {
  if (running_text_.empty()) {
    spdlog::warn("shell: the device file {} cannot be read: no engineer's shell", config_.file.string());
    return;
  }
  auto desk = shell::Desk::open(config_.state_dir, config_.file, running_text_, *this);
  if (!desk) {
    spdlog::error("shell: {}; no engineer's shell", desk.error().message);
    return;
  }
  desk_ = std::move(*desk);
  const nlohmann::json hello{{"protocol", shell::kProtocolVersion}, {"firmware", kFirmwareVersion},
                             {"device", config_.device_id}, {"site", config_.site}};
  gatekeeper_ = std::make_unique<shell::Gatekeeper>(
      config_.state_dir / "engineers.json", config_.state_dir / "engineer-lock.json", hello,
      shell::Gatekeeper::Hooks{
          [this](shell::Gatekeeper::Forward f) { events_.push(std::move(f)); },
          [this](shell::Gatekeeper::Refused r) { events_.push(std::move(r)); },
          [this](std::uint64_t client, nlohmann::json response) {
            if (auto* s = socket_ready_.load()) s->send(client, response);
          },
          [this] { return board_.clock->utc(); }});
  auto* gatekeeper = gatekeeper_.get();
  auto socket = shell::ControlSocket::open(
      {.path = config_.shell_socket, .group = group_named(config_.shell_group)},
      [gatekeeper](std::uint64_t client, const shell::Peer& peer, nlohmann::json request) {
        gatekeeper->request(client, peer, std::move(request));
      },
      [this, gatekeeper](std::uint64_t client) {
        gatekeeper->gone(client);
        events_.push(ShellGone{client});
      });
  if (!socket) {
    spdlog::error("shell: {}; no engineer's shell", socket.error().message);
    return;
  }
  socket_ = std::move(*socket);
  socket_ready_ = socket_.get();
  spdlog::info("shell: engineers connect on {}", config_.shell_socket.string());
}

void Daemon::Loop::on_shell(const shell::Gatekeeper::Forward& request) {
  if (!desk_ || !socket_) return;
  if (on_field_test(request)) return;
  socket_->send(request.client, desk_->handle(request.client, request.engineer, request.request));
}

// The field tests (assure/firmware/field_tests.hpp) and reboot: what the desk does not do.
bool Daemon::Loop::on_field_test(const shell::Gatekeeper::Forward& request) {
  const std::string op = shell::string_field(request.request, "op");
  auto refuse = [&](const std::string& why) { socket_->send(request.client, shell::answer(request.request, false, why, nullptr)); };
  if (op == "unwatch") {
    field_tests_.unwatch(request.client);
    sync_aim();
    socket_->send(request.client, shell::answer(request.request, true, "", nullptr));
  } else if (op == "snapshot") {  // "camera snapshot FILE": the JPEG comes back to the shell, as to the control room
    if (auto why = no_picture(); !why.empty()) return refuse("no picture: " + why), true;
    field_tests_.wait_for_snapshot(request);
    capture_->request_snapshot();
  } else if (op == "aim") {  // "camera aim": a reading a second from the analysis branch
    if (auto why = no_picture(); !why.empty()) return refuse("no reading: " + why), true;
    field_tests_.watch_aim(request, motion_zone_names());
    sync_aim();
    spdlog::info("shell: {} aims the camera", request.engineer);
  } else if (op == "watch") {  // "test input NAME"
    const std::string input = shell::string_field(request.request, "input");
    const auto names = board_.inputs->names();
    if (input != "*" && std::find(names.begin(), names.end(), input) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return refuse(fmt::format("no input \"{}\" (known: {})", excerpt(input, 32), known)), true;
    }
    field_tests_.watch_input(request, input);
    spdlog::info("shell: {} watches input {}", request.engineer, input);
  } else if (op == "mqtt-test") {
    mqtt_test(request);
  } else if (op == "reboot") {
    reboot(request);
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> Daemon::Loop::motion_zone_names() const {
  std::vector<std::string> names;
  for (const auto& zone : config_.motion.zones) names.push_back(zone.name);
  if (names.empty()) names.push_back("frame");
  return names;
}

// "mqtt test": a link_test event through the outbox like any other, which the control room answers
// with a signed echo command carrying its nonce (link_echo); the time between is the round trip.
void Daemon::Loop::mqtt_test(const shell::Gatekeeper::Forward& request) {
  if (field_tests_.testing_link(request.client)) {
    socket_->send(request.client, shell::answer(request.request, false, "a link test is already waiting for the control room", nullptr));
    return;
  }
  const std::string nonce = uplink::new_nonce();
  auto e = uplink::make_event(EventType::link_test, "shell", Severity::info, board_.clock->utc());
  e.details = {{"who", "engineer:" + request.engineer}, {"nonce", nonce}};
  const auto sent = monotonic(*board_.clock);
  const std::string id = raise(std::move(e));
  if (id.empty()) {
    socket_->send(request.client, shell::answer(request.request, false, "the test event could not be stored (see show log)", nullptr));
    return;
  }
  spdlog::info("shell: {} tests the link to the control room (event {})", request.engineer, id);
  field_tests_.link_test(request, nonce, id, sent);
}

// "reboot": told to the control room, answered, then a clean stop (the outbox synced, the last clip
// closed, outputs off) with kExitReboot, on which the systemd unit reboots the device.
void Daemon::Loop::reboot(const shell::Gatekeeper::Forward& request) {
  spdlog::warn("shell: {} asked for a reboot: stopping cleanly, then the device reboots", request.engineer);
  report(EventType::reboot_requested, Severity::warning, {{"who", "engineer:" + request.engineer}});
  if (desk_) desk_->audit({{"action", "reboot"}, {"who", request.engineer}});
  socket_->send(request.client, shell::answer(request.request, true, "", {{"rebooting", true}}));
  exit_code_ = Daemon::kExitReboot;
  request_stop();
}

nlohmann::json Daemon::Loop::events(std::size_t count) const {
  nlohmann::json out = nlohmann::json::array();
  const std::size_t from = recent_events_.size() > count ? recent_events_.size() - count : 0;
  for (std::size_t i = from; i < recent_events_.size(); ++i) {
    const Raised& e = recent_events_[i];
    out.push_back({{"time", utc_iso8601(e.time)}, {"type", to_string(e.type)}, {"source", e.source},
                   {"severity", to_string(e.severity)}, {"zone", e.zone}, {"id", e.id}});
  }
  return out;
}

nlohmann::json Daemon::Loop::log(std::size_t count) const {
  nlohmann::json out = nlohmann::json::array();
  for (auto& line : log_ring_->last_formatted(count)) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    out.push_back(line);
  }
  return out;
}

void Daemon::Loop::on_login_refused(const shell::Gatekeeper::Refused& refused) {
  nlohmann::json details{{"name", refused.name}, {"uid", refused.peer.uid}, {"pid", refused.peer.pid},
                         {"failures", refused.verdict.failures}};
  if (refused.verdict.locked_until) details["locked_until"] = utc_iso8601(*refused.verdict.locked_until);
  report(EventType::engineer_login_failed, Severity::warning, details);
  if (desk_) {
    details["action"] = "login_refused";
    desk_->audit(details);
  }
}

Result<void> Daemon::Loop::check(const config::DeviceConfig& next) const {
  auto made = settings(next, board_file_);
  if (!made) return std::unexpected(made.error());
  // An engineer's change that would leave footage to be sealed with no key to seal it to.
  if (!made->recording_refused.empty()) return fail(Errc::invalid_argument, made->recording_refused);
  return {};
}

Result<void> Daemon::Loop::apply(const config::DeviceConfig& next, const shell::RestartPlan& plan) {
  auto made = settings(next, board_file_);
  if (!made) return std::unexpected(made.error());
  if (!made->recording_refused.empty()) return fail(Errc::invalid_argument, made->recording_refused);
  const config::DeviceConfig running = config_;
  config_ = next;
  // What waits for the next start keeps its running value until then.
  config_.device_id = running.device_id;
  config_.site = running.site;
  config_.board = running.board;
  config_.camera_id = running.camera_id;
  config_.state_dir = running.state_dir;
  config_.uplink = running.uplink;
  config_.heartbeat_interval = running.heartbeat_interval;
  config_.watchdog_timeout = running.watchdog_timeout;
  config_.shell_socket = running.shell_socket;
  config_.shell_group = running.shell_group;
  config_.sim_scenario = running.sim_scenario;
  if (plan.site) {
    carry_out(site_.reconfigure(std::move(made->site), now()));
    read_light_sensors();
    spdlog::info("shell: the alarm site runs its new settings (panel {})", alarm::to_string(site_.panel().state()));
  }
  if (plan.log) spdlog::set_level(spdlog::level::from_str(config_.log_level));
  bool plan_restart_video = false;  // live tuning that the running capture cannot take
  if (plan.video && !plan.pipeline) {
    // Into the running pipeline: the pre-event buffer, the clip being cut and what the detector has
    // learnt of the scene all carry on.
    if (capture_->retune(made->capture.motion, made->capture.privacy_masks)) {
      capture_options_ = std::move(made->capture);
      spdlog::info("shell: the video runs its new motion and privacy-mask settings ({} mask(s))",
                   capture_options_.privacy_masks.size());
    } else {
      plan_restart_video = true;
    }
  }
  if (plan.pipeline || plan_restart_video) {
    spdlog::info("shell: restarting the video pipeline for the new camera, motion, mask or evidence settings");
    capture_->stop();  // what it said while stopping (a clip closed) is queued and handled next
    capture_options_ = std::move(made->capture);
    start_capture();
  }
  if (plan.link) {
    spdlog::info("shell: reconnecting the MQTT link for the new broker settings");
    uplink_.reset();  // says "offline: shutdown", lets go of the state lock
    auto fresh = open_uplink();
    if (!fresh) {
      spdlog::critical("shell: the new link settings do not work ({}); back to the running ones", fresh.error().message);
      config_.mqtt = running.mqtt;
      fresh = open_uplink();
      if (!fresh) {
        // Nothing can be sent: stop, so that systemd starts the daemon again from its files.
        spdlog::critical("shell: the uplink cannot be reopened ({}); stopping for a restart", fresh.error().message);
        request_stop();
        return fail(fresh.error().code, "the uplink cannot be reopened: " + fresh.error().message);
      }
      uplink_ = std::move(*fresh);
      return fail(Errc::invalid_argument, "the new MQTT settings could not be used; the running ones are back");
    }
    uplink_ = std::move(*fresh);
  }
  return {};
}

nlohmann::json Daemon::Loop::status() const {
  if (!uplink_) return {{"uplink", "none: the daemon is stopping for a restart"}};
  const auto outbox = uplink_->outbox();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(monotonic(*board_.clock) - started_);
  return {{"firmware", kFirmwareVersion},
          {"boot_id", boot_id_},
          {"uptime_s", uptime.count()},
          {"video", to_string(video_.stats().state)},
          {"frames", capture_ ? capture_->frames() : 0},
          {"video_starts", video_starts_},
          {"panel", alarm::to_string(site_.panel().state())},
          {"maintenance", site_.panel().maintenance()},
          {"outbox_pending", outbox.pending},
          {"outbox_in_memory", outbox.in_memory},
          {"storage", outbox.storage_error.empty() ? "ok" : outbox.storage_error},
          {"publishes_refused", uplink_->refused()}};
}

nlohmann::json Daemon::Loop::inputs() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : board_.inputs->names()) {
    auto level = board_.inputs->read(name);
    out.push_back({{"input", name}, {"active", level ? nlohmann::json(*level) : nlohmann::json(level.error().message)}});
  }
  return out;
}

nlohmann::json Daemon::Loop::outputs() const {
  nlohmann::json out = nlohmann::json::array();
  const auto controlled = site_.outputs();
  for (const auto& name : board_.outputs->names()) {
    auto level = board_.outputs->get(name);
    out.push_back({{"output", name},
                   {"on", level ? nlohmann::json(*level) : nlohmann::json(level.error().message)},
                   {"site", std::find(controlled.begin(), controlled.end(), name) != controlled.end()}});
  }
  return out;
}

nlohmann::json Daemon::Loop::command(const std::string& name, const nlohmann::json& args, const std::string& who) {
  const Reply reply = commands_.dispatch(name, args, who);
  spdlog::info("shell: {} asked for {}: {}", who, name, reply.ok ? "done" : reply.error);
  if (reply.later) return {{"ok", true}, {"result", {{"requested", true}, {"goes_to", "the control room, as a snapshot event"}}}};
  return {{"ok", reply.ok}, {"error", reply.error}, {"result", reply.result}};
}

void Daemon::Loop::report(EventType type, Severity severity, nlohmann::json details) {
  auto e = uplink::make_event(type, "shell", severity, board_.clock->utc());
  e.details = std::move(details);
  raise(std::move(e));
}

}  // namespace assure::app
