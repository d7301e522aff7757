// What the daemon lends the engineer's shell: the control socket and its gatekeeper started, each
// request handed to the desk on the loop, a commit applied live where it can be, and the
// device's status, inputs and outputs for the shell's "show".
#include <grp.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "app/daemon_loop.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
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
  if (on_watch(request)) return;
  socket_->send(request.client, desk_->handle(request.client, request.engineer, request.request));
}

// "test input": the shell is sent each edge of an input (or of all, "*") as it is read, with the
// kernel's timestamp and a count of active edges, so a knock on a window can be seen counted.
bool Daemon::Loop::on_watch(const shell::Gatekeeper::Forward& request) {
  const std::string op = shell::string_field(request.request, "op");
  if (op == "unwatch") {
    watchers_.erase(request.client);
    socket_->send(request.client, shell::answer(request.request, true, "", nullptr));
    return true;
  }
  if (op == "snapshot") {  // "camera snapshot FILE": the JPEG comes back to the shell, as to the control room
    if (auto why = no_picture(); !why.empty()) {
      socket_->send(request.client, shell::answer(request.request, false, "no picture: " + why, nullptr));
    } else {
      shell_snapshots_.push_back(request);
      capture_->request_snapshot();
    }
    return true;
  }
  if (op != "watch") return false;
  const std::string input = shell::string_field(request.request, "input");
  const auto names = board_.inputs->names();
  if (input != "*" && std::find(names.begin(), names.end(), input) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    socket_->send(request.client,
                  shell::answer(request.request, false, fmt::format("no input \"{}\" (known: {})", excerpt(input, 32), known), nullptr));
    return true;
  }
  watchers_[request.client] = Watch{input, 0};
  spdlog::info("shell: {} watches input {}", request.engineer, input);
  socket_->send(request.client, shell::answer(request.request, true, "", {{"watching", input}}));
  return true;
}

void Daemon::Loop::tell_watchers(const hal::InputEvent& edge) {
  if (!socket_) return;  // stopping: the shells are gone
  for (auto& [client, watch] : watchers_) {
    if (watch.input != "*" && watch.input != edge.name) continue;
    if (edge.active) ++watch.active_edges;
    socket_->send(client, {{"watch", "input"},
                           {"input", edge.name},
                           {"active", edge.active},
                           {"monotonic_ms", std::chrono::duration_cast<std::chrono::milliseconds>(edge.timestamp).count()},
                           {"time", utc_iso8601(board_.clock->utc())},
                           {"active_edges", watch.active_edges}});
  }
}

void Daemon::Loop::answer_snapshots(const std::string& event_id, const std::vector<std::uint8_t>& jpeg) {
  if (shell_snapshots_.empty() || !socket_) return;
  std::string b64(sodium_base64_encoded_len(jpeg.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), jpeg.data(), jpeg.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  for (const auto& waiting : shell_snapshots_) {
    socket_->send(waiting.client, shell::answer(waiting.request, true, "",
                                                {{"event", event_id}, {"bytes", jpeg.size()}, {"jpeg_base64", b64}}));
  }
  shell_snapshots_.clear();
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
  return {};
}

Result<void> Daemon::Loop::apply(const config::DeviceConfig& next, const shell::RestartPlan& plan) {
  auto made = settings(next, board_file_);
  if (!made) return std::unexpected(made.error());
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
  if (plan.pipeline) {
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
