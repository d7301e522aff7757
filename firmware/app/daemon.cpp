#include "assure/firmware/daemon.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "app/daemon_loop.hpp"
#include "app/overloaded.hpp"
#include "assure/base/files.hpp"
#include "assure/drivers/open_board.hpp"
#include "assure/drivers/system_clock.hpp"
#include "assure/firmware/version.hpp"

namespace assure::app {

std::string Daemon::new_boot_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::DeviceConfig config, config::BoardFile board) {
  if (auto checked = settings(config, board); !checked) return std::unexpected(checked.error());
  drivers::BoardOptions options;
  options.sim_scenario = config.sim_scenario;
  auto opened = drivers::open_board(board.spec, options, std::make_shared<drivers::SystemClock>());
  if (!opened) return std::unexpected(opened.error());
  return create(std::move(config), std::move(board), std::move(*opened));
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::DeviceConfig config, config::BoardFile board, hal::Board opened) {
  auto made = settings(config, board);
  if (!made) return std::unexpected(made.error());
  // The device file's text, for the engineer's shell (empty when it cannot be read: no shell).
  std::string text = base::read_bounded(config.file, 1u << 20).value_or("");
  const std::string refused = made->recording_refused;
  auto daemon = std::unique_ptr<Daemon>(new Daemon(std::make_unique<Loop>(std::move(config), std::move(board),
                                                                         std::move(opened), std::move(*made), std::move(text))));
  if (!refused.empty()) {
    spdlog::critical("evidence: {}", refused);
    daemon->note_at_start(EventType::recording_stopped, {{"why", refused}});
  }
  return daemon;
}

Daemon::Daemon(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}
Daemon::~Daemon() = default;
int Daemon::run() { return loop_->run(); }
void Daemon::request_stop() { loop_->request_stop(); }
void Daemon::on_raised(std::function<void(const uplink::Event&, const std::string&)> observer) {
  loop_->raised = std::move(observer);
}
void Daemon::note_at_start(EventType type, nlohmann::json details) {
  loop_->start_notes.emplace_back(type, std::move(details));
}
void Daemon::running_text(std::string text) { loop_->running_text(std::move(text)); }

Daemon::Loop::Loop(config::DeviceConfig config, config::BoardFile board_file, hal::Board board, Settings settings,
                   std::string running_text)
    : config_(std::move(config)),
      board_file_(std::move(board_file)),
      board_(std::move(board)),
      capture_options_(std::move(settings.capture)),
      site_(std::move(settings.site)),
      boot_id_(new_boot_id()),
      running_text_(std::move(running_text)),
      started_(monotonic(*board_.clock)),
      commands_(device_commands(*this)),
      outlet_(*board_.outputs, *board_.clock,
              {[this](uplink::Event e) { return raise(std::move(e)); },
               [this] {
                 if (capture_) capture_->light_switching(std::chrono::milliseconds{3000});
               }}),
      video_(config_.camera_id, pipelines::describe(capture_options_.source), *board_.clock,
             {[this](uplink::Event e, const std::vector<std::uint8_t>* jpeg) { return raise(std::move(e), jpeg); },
              [this](pipelines::ClipClosed clip, std::vector<std::string> ids) {
                uplink_->submit_clip(std::move(clip), std::move(ids));
              },
              [this](const pipelines::SegmentClosed& segment) {
                if (keeper_) keeper_->submit(segment);
              }}),
      heartbeats_(boot_id_, config_.state_dir, started_),
      log_ring_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200)) {
  log_ring_->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l %v");
  spdlog::default_logger()->sinks().push_back(log_ring_);  // before any thread of ours logs
}

Daemon::Loop::~Loop() {
  socket_ready_ = nullptr;
  socket_.reset();  // its thread calls the gatekeeper and pushes to the queue: first to go
  request_stop();
  if (input_thread_.joinable()) input_thread_.join();
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), log_ring_), sinks.end());
}

void Daemon::Loop::request_stop() {
  if (stopping_.exchange(true)) return;
  events_.push(StopRequest{});
  if (board_.inputs) board_.inputs->interrupt();
}

nlohmann::json Daemon::Loop::identity() const {
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(monotonic(*board_.clock) - started_);
  return {{"firmware", kFirmwareVersion}, {"boot_id", boot_id_}, {"uptime_s", uptime.count()}};
}

std::string Daemon::Loop::no_picture() const {
  const auto state = video_.stats().state;
  if (capture_options_.motion && state == VideoState::running) return "";
  return fmt::format("the video is {}{}", to_string(state), capture_options_.motion ? "" : " and motion analysis is off");
}

std::string Daemon::Loop::raise(uplink::Event event, const std::vector<std::uint8_t>* jpeg) {
  if (!uplink_) {  // only after a failed reconnect, while the daemon stops for a restart
    spdlog::critical("event {} from {} could not be stored: no uplink", to_string(event.type), event.source);
    return "";
  }
  Raised seen{event.time, event.type, event.severity, event.source, event.zone, {}};
  uplink::Event copy = raised ? event : uplink::Event{};
  std::string id = uplink_->raise(std::move(event), jpeg);
  seen.id = id;
  recent_events_.push_back(std::move(seen));
  if (recent_events_.size() > 200) recent_events_.pop_front();
  if (raised) raised(copy, id);
  return id;
}

void Daemon::Loop::read_inputs() {
  while (!stopping_) {
    auto edges = board_.inputs->wait(std::chrono::milliseconds{500});
    if (!edges) {
      spdlog::error("inputs: {}", edges.error().message);
      std::this_thread::sleep_for(std::chrono::milliseconds{500});
      continue;
    }
    for (auto& edge : *edges) events_.push(std::move(edge));
  }
}

bool Daemon::Loop::start_watchdog() {
  if (config_.watchdog_timeout.count() <= 0) return false;
  if (auto started = board_.watchdog->start(config_.watchdog_timeout); !started) {
    // The alarms still run; only the reset on a hang is missing. Said once, not at every kick.
    spdlog::error("watchdog: {}; running WITHOUT the board's watchdog", started.error().message);
    return false;
  }
  spdlog::info("watchdog: {} armed, {} s", board_.watchdog->describe(), config_.watchdog_timeout.count());
  return true;
}

Result<std::unique_ptr<UplinkService>> Daemon::Loop::open_uplink() {
  uplink::Online online{kFirmwareVersion, boot_id_, board_.name, pipelines::describe(capture_options_.source),
                        board_.clock->utc()};
  auto uplink = UplinkService::open(config_, online, board_.clock);
  if (!uplink) return std::unexpected(uplink.error());
  // Before the evidence thread starts and before the video: what the last run left half done.
  if (const auto& recording = capture_options_.recording) {
    if (const auto left = (*uplink)->recover(recording->dir); left > 0) {
      spdlog::warn("evidence: {} clip(s) left by the last run (cut short or never signed) to sign", left);
    }
  }
  (*uplink)->start([this](std::string name, std::string payload) {
    events_.push(IncomingCommand{std::move(name), std::move(payload)});
  });
  return uplink;
}

void Daemon::Loop::start_capture() {
  if (const auto& recording = capture_options_.recording) {
    spdlog::info("evidence: clips in {}, {} s before and {} s after motion", recording->dir.string(),
                 config_.evidence.pre_event.count(), config_.evidence.post_event.count());
  }
  if (const auto masks = capture_options_.privacy_masks.size(); masks > 0) {
    spdlog::info("privacy: {} mask(s) blacked out", masks);
  }
  capture_ = std::make_unique<pipelines::VideoCapture>(
      capture_options_, [this](const pipelines::VideoEvent& event) { events_.push(event); });
  if (segments_stopped_) capture_->pause_segments(*segments_stopped_);
  ++video_starts_;
  sync_aim();  // an engineer aiming the camera goes on seeing readings
  capture_->start();
}

// A light sensor's level now: the lights cannot wait for its next change to know it is dark.
void Daemon::Loop::read_light_sensors() {
  for (const auto& input : site_.light_sensors()) {
    if (auto dark = board_.inputs->read(input)) carry_out(site_.light_level(input, *dark, now()));
    else spdlog::error("light sensor {}: cannot be read: {}", input, dark.error().message);
  }
}

bool Daemon::Loop::start_parts() {
  auto uplink = open_uplink();
  if (!uplink) {
    spdlog::critical("uplink: {}", uplink.error().message);
    return false;
  }
  uplink_ = std::move(*uplink);
  spdlog::info("evidence: clips are signed with device key {}", uplink_->public_key());
  for (auto& [type, details] : start_notes) report(type, Severity::critical, std::move(details));
  start_evidence_keeper();
  start_capture();
  read_light_sensors();
  input_thread_ = std::thread([this] { read_inputs(); });
  start_shell();
  return true;
}

int Daemon::Loop::run() {
  started_ = monotonic(*board_.clock);
  heartbeats_ = HeartbeatMaker(boot_id_, config_.state_dir, started_);
  spdlog::info("assure-edged {} starting: device {}/{}, board {}, camera {}", kFirmwareVersion, config_.site,
               config_.device_id, board_.name, pipelines::describe(capture_options_.source));
  service_ = drivers::ServiceManager::from_environment();
  const bool use_watchdog = start_watchdog();
  if (!start_parts()) {
    if (use_watchdog) (void)board_.watchdog->stop();
    return 1;
  }
  // The main loop: wake for an event, a heartbeat, a watchdog kick or the site's next deadline,
  // whichever is first, on the board's clock.
  const auto kick_every =
      Schedule::kick_interval(use_watchdog ? config_.watchdog_timeout : std::chrono::seconds{0}, service_.watchdog_timeout());
  if (service_.watchdog_timeout()) spdlog::info("watchdog: systemd's, kicked every {} ms", kick_every->count());
  Schedule schedule(monotonic(*board_.clock), std::chrono::duration_cast<std::chrono::milliseconds>(config_.heartbeat_interval),
                    kick_every);
  service_.ready(fmt::format("running: board {}, camera {}", board_.name, pipelines::describe(capture_options_.source)));
  bool running = true;
  while (running) {
    auto wake = schedule.wake_at(site_.deadline());
    if (const auto revert = desk_ ? desk_->revert_at() : std::nullopt) {  // a commit waiting for its confirm
      wake = std::min(wake, monotonic(*board_.clock) + std::chrono::duration_cast<Schedule::Time::duration>(
                                                           std::max(*revert - utc(), std::chrono::system_clock::duration{})));
    }
    if (const auto test = field_tests_.next_deadline()) wake = std::min(wake, *test);  // an unanswered mqtt test
    const auto wait = std::max(wake - monotonic(*board_.clock), Schedule::Time::duration::zero());
    if (auto event = events_.pop_until(std::chrono::steady_clock::now() + wait)) {
      if (std::holds_alternative<StopRequest>(*event)) running = false;
      else handle(*event);
    }
    const auto at = now();
    carry_out(site_.tick(at));
    if (desk_) desk_->tick();
    if (field_tests_.next_deadline()) {
      field_tests_.tick(at.now, uplink_ && uplink_->connected() ? "the broker is connected"
                                                               : "the device is not connected to the broker");
    }
    const auto due = schedule.due(at.now);
    if (due.heartbeat) send_heartbeat(at.now);
    if (due.kick) {
      if (use_watchdog) {
        if (auto kicked = board_.watchdog->kick(); !kicked) spdlog::error("watchdog: {}", kicked.error().message);
      }
      service_.kick();
    }
  }
  stop_parts(use_watchdog);
  return exit_code_;
}

void Daemon::Loop::stop_parts(bool use_watchdog) {
  spdlog::info("stopping");
  service_.stopping();
  socket_ready_ = nullptr;
  socket_.reset();  // no more engineers' requests
  capture_->stop();
  board_.inputs->interrupt();
  if (input_thread_.joinable()) input_thread_.join();
  // What the capture and the inputs said while stopping (the last clip, closed just now; a last
  // input edge) is handled before the uplink stops, so it is signed, stored and sent.
  while (auto late = events_.pop_until(std::chrono::steady_clock::now())) {
    if (!std::holds_alternative<StopRequest>(*late)) handle(*late);
  }
  // A clean stop leaves nothing on that nobody would be left to switch off (after a crash, the
  // next start sets every output to the board file's initial state).
  carry_out(site_.stop());
  if (keeper_) keeper_->stop();  // the last segment sealed
  uplink_->stop();
  if (use_watchdog) (void)board_.watchdog->stop();
  spdlog::info("stopped after {} frames", capture_->frames());
}

void Daemon::Loop::handle(const DaemonEvent& event) {
  std::visit(overloaded{
                 [&](const pipelines::VideoEvent& video) { on_video(video); },
                 [&](const hal::InputEvent& edge) { on_input(edge); },
                 [&](const IncomingCommand& command) { on_command(command); },
                 [&](const shell::Gatekeeper::Forward& request) { on_shell(request); },
                 [&](const shell::Gatekeeper::Refused& refused) { on_login_refused(refused); },
                 [&](const ShellGone& gone) {
                   field_tests_.gone(gone.client);
                   sync_aim();
                   if (desk_) desk_->gone(gone.client);
                 },
                 [&](const RecordingStop& r) {
                   segments_stopped_ = r.stop ? std::optional<std::string>(r.why) : std::nullopt;
                   if (!capture_) return;
                   if (r.stop) capture_->pause_segments(r.why);
                   else capture_->resume_segments();
                 },
                 [](const StopRequest&) {},
             },
             event);
}

// Continuous recording: its segments sealed and retention swept on the keeper's thread. Without
// a store (its holds file unreadable, its folders not made) nothing is recorded continuously
// rather than recorded without retention or holds: the control room hears why.
void Daemon::Loop::start_evidence_keeper() {
  if (!capture_options_.segments) return;
  const evidence::SigningKey* key = uplink_->signing_key();
  evidence::StoreOptions options{.clips_dir = config_.evidence.dir,
                                 .segments_dir = config_.evidence.segments_dir,
                                 .state_dir = config_.state_dir,
                                 .device = config_.device_id,
                                 .site = config_.site,
                                 .camera = config_.camera_id,
                                 .firmware = kFirmwareVersion,
                                 .limits = {.max_age = config_.evidence.retention,
                                            .quota_bytes = config_.evidence.quota_bytes,
                                            // two segments at the board's bitrate, for what is being written
                                            // (at most a quarter of a small quota)
                                            .headroom_bytes = std::min<std::uint64_t>(
                                                config_.evidence.quota_bytes / 4,
                                                static_cast<std::uint64_t>(board_file_.encoder_bitrate_kbps) * 1000 / 8 *
                                                    static_cast<std::uint64_t>(config_.evidence.segment.count()) * 2)}};
  auto store = key == nullptr ? fail(Errc::unavailable, "the device has no signing key")
                              : evidence::Store::open(std::move(options), *key, [this](const std::string& clip) {
                                  return uplink_->clip_pending(clip);
                                });
  if (!store) {
    const std::string why = "the evidence store cannot be opened: " + store.error().message;
    spdlog::critical("evidence: {}; continuous recording is OFF", why);
    segments_stopped_ = why;
    report(EventType::recording_stopped, Severity::critical, {{"why", why}});
    return;
  }
  keeper_ = std::make_unique<EvidenceKeeper>(
      std::move(*store), config_.camera_id, board_.clock, std::chrono::minutes{1},
      EvidenceKeeper::Hooks{
          [this](uplink::Event e) { (void)uplink_->raise(std::move(e)); },
          [this](bool stop, const std::string& why) { events_.push(RecordingStop{stop, why}); },
          [this](const uplink::Command& command, bool ok, const std::string& error, const nlohmann::json& result) {
            uplink_->reply(command, ok, error, result);
          },
          [this](pipelines::ClipClosed clip) { uplink_->submit_clip(std::move(clip), {}); }});
  keeper_->start();
  spdlog::info("evidence: continuous recording in {} ({} s segments), kept {} h{}",
               (config_.evidence.segments_dir / config_.camera_id).string(), config_.evidence.segment.count(),
               config_.evidence.retention.count(),
               config_.evidence.quota_bytes ? fmt::format(" within {} MiB", config_.evidence.quota_bytes >> 20) : "");
}

// An input edge: its own event first, then the alarm site (keyfob, light, shock sensor, zone).
void Daemon::Loop::on_input(const hal::InputEvent& edge) {
  ++input_edges_;
  spdlog::info("input {} {}", edge.name, edge.active ? "active" : "inactive");
  auto e = uplink::make_event(EventType::input, "input:" + edge.name, Severity::info, board_.clock->utc());
  e.details = {{"active", edge.active}};
  raise(std::move(e));
  field_tests_.input_edge(edge, board_.clock->utc());
  carry_out(site_.input(edge.name, edge.active, edge.timestamp, now()));
}

void Daemon::Loop::on_video(const pipelines::VideoEvent& video) {
  if (const auto* reading = std::get_if<pipelines::AimReading>(&video)) {
    field_tests_.aim(*reading, board_.clock->utc());
    return;
  }
  const auto seen = video_.on(video);
  if (seen.motion) carry_out(site_.motion(*seen.motion, now()));
  if (seen.tamper) carry_out(site_.camera_tamper(*seen.tamper, now()));
  if (seen.snapshot) {
    const std::string& id = *seen.snapshot;
    if (const auto* taken = std::get_if<pipelines::SnapshotTaken>(&video)) field_tests_.snapshot(id, taken->jpeg);
    for (const auto& command : snapshot_requests_) {
      uplink_->reply(command, !id.empty(), id.empty() ? "the snapshot could not be stored" : "",
                     {{"event", id}, {"topic", uplink_->topics().snapshot(id)}});
    }
    snapshot_requests_.clear();
  }
}

std::string Daemon::Loop::accept_view(std::string_view who) {
  if (!capture_ || !capture_options_.tamper) return "tamper detection is off (tamper.enabled, motion.enabled)";
  if (video_.stats().state != VideoState::running) return fmt::format("the video is {}", to_string(video_.stats().state));
  if (!capture_->accept_view()) return "tamper detection is off";
  spdlog::warn("tamper: {} accepted the camera's current view as its reference{}", who,
               video_.stats().tampered.empty() ? "" : " (a tamper in progress ends)");
  return "";
}

// A command from the control room: admitted by the uplink's gate (signature, addressee, time,
// nonce), then obeyed through the command table, which answers unknown ones and bad arguments.
void Daemon::Loop::on_command(const IncomingCommand& incoming) {
  auto admitted = uplink_->admit(incoming.name, incoming.payload);
  if (!admitted) {
    spdlog::error("command {} REFUSED: {}", incoming.name, admitted.error().message);
    auto e = uplink::make_event(EventType::command_rejected, "uplink", Severity::warning, board_.clock->utc());
    e.details = {{"command", incoming.name}, {"reason", admitted.error().message}};
    raise(std::move(e));
    return;
  }
  const uplink::Command& command = *admitted;
  spdlog::info("command {} accepted (nonce {})", command.name, command.nonce);
  const Reply reply = commands_.dispatch(command.name, command.args, "control-room");
  if (reply.later) {
    if (keeper_ && EvidenceKeeper::handles(command.name)) keeper_->request(command);  // it replies
    else snapshot_requests_.push_back(command);
    return;
  }
  if (!reply.ok) spdlog::error("command {}: {}", command.name, reply.error);
  uplink_->reply(command, reply.ok, reply.error, reply.result);
}

void Daemon::Loop::send_heartbeat(Schedule::Time now) {
  if (!uplink_) return;
  const auto outbox = uplink_->outbox();
  const HeartbeatMaker::Counts counts{capture_->frames(), input_edges_, uplink_->refused()};
  uplink_->heartbeat(heartbeats_.make(now, board_.clock->utc(), counts, video_.stats(), outbox));
  service_.status(fmt::format("video {}, {} frames, panel {}, {} message(s) waiting for the broker",
                              to_string(video_.stats().state), counts.frames, alarm::to_string(site_.panel().state()),
                              outbox.pending));
}

}  // namespace assure::app
