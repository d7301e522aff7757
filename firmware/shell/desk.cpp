#include "assure/firmware/shell/desk.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "assure/base/files.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/shell/gatekeeper.hpp"

namespace assure::shell {
namespace {

using json = nlohmann::json;

bool starts(std::string_view key, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes) {
    if (key.starts_with(p)) return true;
  }
  return false;
}

json changes_json(const std::vector<config::Change>& changes, bool with_values) {
  json out = json::array();
  for (const auto& c : changes) {
    json one{{"key", c.key}};
    if (with_values && !c.secret) {
      one["before"] = c.before;
      one["after"] = c.after;
    }
    out.push_back(one);
  }
  return out;
}

}  // namespace

RestartPlan restart_plan(const std::vector<config::Change>& changes) {
  RestartPlan plan;
  for (const auto& c : changes) {
    if (starts(c.key, {"alarm.", "light[", "light.", "sounder.", "device.location"})) plan.site = true;
    else if (starts(c.key, {"motion.enabled", "motion.analysis_fps", "motion.snapshot_width"})) plan.pipeline = true;
    else if (starts(c.key, {"motion.", "privacy."})) plan.video = true;
    else if (starts(c.key, {"camera.", "evidence.", "tamper."})) plan.pipeline = true;
    else if (starts(c.key, {"mqtt."})) plan.link = true;
    else if (c.key == "log.level") plan.log = true;
    else plan.next_start.push_back(c.key);
  }
  return plan;
}

json RestartPlan::describe() const {
  json live = json::array(), restarts = json::array();
  if (site) live.push_back("alarm site (zones, delays, shocks, keyfobs, lights, sounder)");
  if (log) live.push_back("log level");
  if (video && !pipeline) live.push_back("motion detection and privacy masks (into the running video)");
  if (pipeline) restarts.push_back("video pipeline (its pre-event buffer refills)");
  if (link) restarts.push_back("MQTT link (reconnects; the broker keeps the session)");
  return {{"live", live}, {"restarts", restarts}, {"next_start", next_start}};
}

Desk::Desk(std::filesystem::path config_file, std::string running_text, DeskHost& host, Revisions revisions,
           evidence::AuditLog audit, config::Candidate running)
    : config_file_(std::move(config_file)),
      running_text_(std::move(running_text)),
      host_(host),
      revisions_(std::move(revisions)),
      audit_(std::move(audit)),
      running_(std::move(running)) {}

Result<std::unique_ptr<Desk>> Desk::open(const std::filesystem::path& state_dir, std::filesystem::path config_file,
                                         std::string running_text, DeskHost& host) {
  auto revisions = Revisions::open(state_dir / "config");
  if (!revisions) return std::unexpected(revisions.error());
  auto audit = evidence::AuditLog::open(state_dir / "audit.log");
  if (!audit) return std::unexpected(audit.error());
  auto running = config::Candidate::from_text(running_text, config_file.string(), config_file.parent_path());
  if (!running) return std::unexpected(running.error());
  // The running text is a revision: the first one, or a new one when the file was edited by hand.
  const auto active = revisions->active();
  const auto active_text = active ? revisions->text(*active) : Result<std::string>{};
  const auto good = revisions->good();
  const auto good_text = good ? revisions->text(*good) : Result<std::string>{};
  if (good && good_text && *good_text == running_text && (!active_text || *active_text != running_text)) {
    (void)revisions->set_active(*good);  // the device fell back to it at start
  } else if (!active || !active_text || *active_text != running_text) {
    auto added = revisions->add(running_text, active ? "file" : "first start",
                                active ? "the device file was changed outside the shell" : "as found at first start",
                                host.utc());
    if (!added) return std::unexpected(added.error());
    if (auto ok = revisions->set_active(added->number); !ok) return std::unexpected(ok.error());
  }
  // It started: it is good, unless it is a commit still waiting for its confirmation.
  if (!revisions->pending() || revisions->pending()->revision != revisions->active()) {
    (void)revisions->set_pending(std::nullopt);
    (void)revisions->set_good(*revisions->active());
  }
  return std::unique_ptr<Desk>(new Desk(std::move(config_file), std::move(running_text), host, std::move(*revisions),
                                        std::move(*audit), std::move(*running)));
}

config::Candidate& Desk::candidate(std::uint64_t client) {
  auto it = candidates_.find(client);
  if (it == candidates_.end()) it = candidates_.emplace(client, running_).first;
  return it->second;
}

void Desk::gone(std::uint64_t client) { candidates_.erase(client); }

std::optional<std::chrono::system_clock::time_point> Desk::revert_at() const {
  if (!revisions_.pending()) return std::nullopt;
  return revisions_.pending()->until;
}

void Desk::audit(json record) {
  record["time"] = utc_iso8601(host_.utc());
  if (auto ok = audit_.append(std::move(record)); !ok) spdlog::error("shell: audit log: {}", ok.error().message);
}

Result<RevisionInfo> Desk::install(const config::Candidate& next, const std::string& engineer, const std::string& comment,
                                   const std::vector<config::Change>& changes, const RestartPlan& plan) {
  auto loaded = next.load();
  if (!loaded) return std::unexpected(loaded.error());
  if (auto checked = host_.check(*loaded); !checked) return std::unexpected(checked.error());
  const std::string text = next.text();
  // The file first: if it cannot be written, nothing changes (the device would come back up
  // with the old one at its next start, and say nothing).
  if (auto written = base::write_durably(config_file_, text, 0640); !written) {
    return fail(written.error().code, "the device file cannot be written, nothing changed: " + written.error().message);
  }
  auto revision = revisions_.add(text, engineer, comment, host_.utc());
  if (!revision) return std::unexpected(revision.error());
  if (auto applied = host_.apply(*loaded, plan); !applied) {
    spdlog::error("shell: revision {} written but not applied: {}", revision->number, applied.error().message);
    return fail(applied.error().code, fmt::format("revision {} is in the device file but could not be applied now ({}); "
                                                  "it takes effect at the next start", revision->number, applied.error().message));
  }
  (void)revisions_.set_active(revision->number);
  running_text_ = text;
  running_ = next;
  audit({{"action", "commit"}, {"who", engineer}, {"revision", revision->number}, {"comment", comment},
         {"changes", changes_json(changes, true)}});
  return revision;
}

Result<json> Desk::commit(std::uint64_t client, const std::string& engineer, const json& request) {
  if (revisions_.pending()) {
    return fail(Errc::invalid_argument, fmt::format("revision {} waits for \"confirm\" (or reverts by itself at {}); "
                                                    "confirm it first", revisions_.pending()->revision,
                                                    utc_iso8601(revisions_.pending()->until)));
  }
  config::Candidate& next = candidate(client);
  const auto changes = next.diff_from(running_);
  if (changes.empty()) return fail(Errc::invalid_argument, "nothing to commit: the candidate is the running configuration");
  std::optional<std::int64_t> minutes;
  if (request.contains("confirm_minutes")) {
    if (!request["confirm_minutes"].is_number_integer() || request["confirm_minutes"].get<std::int64_t>() < 1 ||
        request["confirm_minutes"].get<std::int64_t>() > 60) {
      return fail(Errc::invalid_argument, "commit confirmed takes 1 to 60 minutes");
    }
    minutes = request["confirm_minutes"].get<std::int64_t>();
  }
  const auto previous = revisions_.active().value_or(0);
  const auto plan = restart_plan(changes);
  auto revision = install(next, engineer, string_field(request, "comment"), changes, plan);
  if (!revision) return std::unexpected(revision.error());
  json details{{"who", engineer}, {"revision", revision->number}, {"keys", changes_json(changes, false)}};
  json result{{"revision", revision->number}, {"applied", plan.describe()}};
  if (minutes) {
    const auto until = host_.utc() + std::chrono::minutes{*minutes};
    (void)revisions_.set_pending(PendingConfirm{revision->number, previous, until});
    details["confirm_by"] = utc_iso8601(until);
    result["confirm_by"] = utc_iso8601(until);
  } else {
    (void)revisions_.set_good(revision->number);
  }
  host_.report(EventType::config_changed, Severity::info, details);
  spdlog::info("shell: {} committed revision {} ({} change(s))", engineer, revision->number, changes.size());
  return result;
}

Result<json> Desk::rollback(const std::string& engineer, std::uint64_t number, const std::string& comment, EventType event) {
  auto text = revisions_.text(number);
  if (!text) return std::unexpected(text.error());
  auto next = config::Candidate::from_text(*text, config_file_.string(), config_file_.parent_path());
  if (!next) return std::unexpected(next.error());
  const auto changes = next->diff_from(running_);
  const auto plan = restart_plan(changes);
  auto revision = install(*next, engineer, comment, changes, plan);
  if (!revision) return std::unexpected(revision.error());
  (void)revisions_.set_pending(std::nullopt);
  (void)revisions_.set_good(revision->number);
  host_.report(event, event == EventType::config_reverted ? Severity::warning : Severity::info,
               {{"who", engineer}, {"revision", revision->number}, {"from", number}, {"comment", comment},
                {"keys", changes_json(changes, false)}});
  return json{{"revision", revision->number}, {"applied", plan.describe()}};
}

Result<json> Desk::remote(const json& args, const std::string& who) {
  constexpr std::uint64_t kRemote = 0;  // the socket's clients count from 1
  candidates_.erase(kRemote);
  config::Candidate& c = candidate(kRemote);
  const json& changes = args["changes"];
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const json& change = changes[i];
    Result<void> done;
    if (!change.is_object()) {
      done = fail(Errc::invalid_argument, "a change is an object");
    } else if (change.contains("add")) {
      auto index = c.append(string_field(change, "add"));
      if (!index) done = std::unexpected(index.error());
    } else if (change.contains("delete") && change["delete"] == true) {
      done = c.erase(string_field(change, "key"));
    } else if (change.contains("value") && (change["value"].is_string() || change["value"].is_primitive())) {
      done = c.set(string_field(change, "key"), change["value"].is_string() ? change["value"].get<std::string>()
                                                                            : change["value"].dump());
    } else {
      done = fail(Errc::invalid_argument, "a change is {\"key\",\"value\"}, {\"key\",\"delete\":true} or {\"add\":ARRAY}");
    }
    if (!done) {
      candidates_.erase(kRemote);
      return fail(done.error().code, fmt::format("change {}: {}", i + 1, done.error().message));
    }
  }
  json request{{"op", "commit"}, {"comment", string_field(args, "comment")}};
  if (args.contains("confirm_minutes")) request["confirm_minutes"] = args["confirm_minutes"];
  auto result = commit(kRemote, who, request);
  candidates_.erase(kRemote);
  return result;
}

void Desk::tick() {
  const auto& pending = revisions_.pending();
  if (!pending || host_.utc() < pending->until) return;
  const auto unconfirmed = pending->revision, previous = pending->previous;
  spdlog::warn("shell: revision {} was not confirmed in time: going back to revision {}", unconfirmed, previous);
  auto back = rollback("automatic", previous, fmt::format("revision {} was not confirmed in time", unconfirmed),
                       EventType::config_reverted);
  if (!back) {
    spdlog::error("shell: the revert to revision {} failed: {}", previous, back.error().message);
    (void)revisions_.set_pending(std::nullopt);  // said once; the device carries on with what runs
  }
}

Result<json> Desk::show(std::uint64_t client, const json& request) {
  const std::string what = string_field(request, "what");
  if (what == "config") {
    auto shown = candidate(client).show(string_field(request, "key"));
    if (!shown) return std::unexpected(shown.error());
    return json(*shown);
  }
  if (what == "running") return json(running_text_);
  if (what == "revisions") {
    json out = json::array();
    for (const auto& r : revisions_.list()) {
      out.push_back({{"revision", r.number}, {"who", r.who}, {"when", utc_iso8601(r.when)}, {"comment", r.comment},
                     {"active", revisions_.active() == r.number}, {"good", revisions_.good() == r.number}});
    }
    return out;
  }
  if (what == "pending-restart") return restart_plan(candidate(client).diff_from(running_)).describe();
  if (what == "status") return host_.status();
  if (what == "inputs") return host_.inputs();
  if (what == "outputs") return host_.outputs();
  if (what == "events" || what == "log") {
    std::size_t count = 20;
    if (request.contains("count")) {
      if (!request["count"].is_number_unsigned() || request["count"].get<std::uint64_t>() > 200) {
        return fail(Errc::invalid_argument, "show events|log takes 1 to 200");
      }
      count = request["count"].get<std::size_t>();
    }
    return what == "events" ? host_.events(count) : host_.log(count);
  }
  return fail(Errc::invalid_argument, fmt::format("show what? config [KEY], running, revisions, pending-restart, "
                                                  "status, inputs, outputs, events [N], log [N] (not \"{}\")",
                                                  excerpt(what, 32)));
}

json Desk::handle(std::uint64_t client, const std::string& engineer, const json& request) {
  const std::string op = string_field(request, "op");
  auto reply = [&](const Result<json>& r) { return answer(request, r.has_value(), r ? "" : r.error().message, r ? *r : json()); };
  auto done = [&](const Result<void>& r) { return answer(request, r.has_value(), r ? "" : r.error().message, nullptr); };
  if (op == "show") return reply(show(client, request));
  if (op == "set") return done(candidate(client).set(string_field(request, "key"), string_field(request, "value")));
  if (op == "delete") return done(candidate(client).erase(string_field(request, "key")));
  if (op == "add") {
    auto index = candidate(client).append(string_field(request, "array"));
    return reply(index ? Result<json>(json{{"index", *index}}) : std::unexpected(index.error()));
  }
  if (op == "diff") return answer(request, true, "", changes_json(candidate(client).diff_from(running_), true));
  if (op == "validate") {
    auto loaded = candidate(client).load();
    if (!loaded) return answer(request, false, loaded.error().message, nullptr);
    auto checked = host_.check(*loaded);
    return answer(request, checked.has_value(), checked ? "" : checked.error().message, "valid");
  }
  if (op == "discard") {
    candidates_.erase(client);
    return answer(request, true, "", nullptr);
  }
  if (op == "commit") return reply(commit(client, engineer, request));
  if (op == "confirm") {
    if (!revisions_.pending()) return answer(request, false, "no commit is waiting for its confirmation", nullptr);
    const auto revision = revisions_.pending()->revision;
    (void)revisions_.set_pending(std::nullopt);
    (void)revisions_.set_good(revision);
    audit({{"action", "confirm"}, {"who", engineer}, {"revision", revision}});
    return answer(request, true, "", {{"revision", revision}});
  }
  if (op == "rollback") {
    if (!request.contains("revision") || !request["revision"].is_number_unsigned()) {
      return answer(request, false, "rollback needs a revision number (show revisions)", nullptr);
    }
    const auto number = request["revision"].get<std::uint64_t>();
    return reply(rollback(engineer, number, fmt::format("rollback to revision {}", number), EventType::config_changed));
  }
  if (op == "command") {
    const json args = request.contains("args") ? request["args"] : json::object();
    json r = host_.command(string_field(request, "name"), args, "engineer:" + engineer);
    return answer(request, r.value("ok", false), r.value("error", ""), r.value("result", json()));
  }
  if (op == "help") {
    const std::string key = string_field(request, "key");
    if (key.empty()) {
      return answer(request, true, "", {{"ops", {"show", "set", "delete", "add", "diff", "validate", "discard", "commit",
                                                 "confirm", "rollback", "command", "help", "logout"}},
                                        {"keys", config::Candidate::known_keys()}});
    }
    auto help = config::key_help(key);
    return answer(request, help.has_value(), help ? "" : help.error().message, help ? json(*help) : json());
  }
  return answer(request, false, fmt::format("unknown request \"{}\" (help lists them)", excerpt(op, 32)), nullptr);
}

}  // namespace assure::shell
