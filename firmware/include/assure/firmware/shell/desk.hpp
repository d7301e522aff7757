#pragma once
// The engineer's desk, on the daemon's loop: each logged-in shell's candidate configuration, and
// commit, commit confirmed (reverted by itself unless confirmed in time), rollback and the
// revisions; every commit audited (who, when, revision, the diff) and told to the control room
// (who, revision, the keys; never a secret). What a commit changes is applied live where it can be
// (see RestartPlan); the rest waits for the next start, and `show pending-restart` says so first.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"
#include "assure/config/candidate.hpp"
#include "assure/firmware/kinds.hpp"
#include "assure/firmware/evidence/audit_log.hpp"
#include "assure/firmware/shell/revisions.hpp"

namespace assure::shell {

// What a set of changes takes to apply.
struct RestartPlan {
  bool site = false;      // alarm zones and delays, shocks, keyfobs, lights, sounder, the site's place: live
  bool video = false;     // motion zones, exclusions, sensitivity, sizes and times; privacy masks: live, into the running pipeline
  bool pipeline = false;  // camera, evidence, motion on/off, analysis rate, snapshot width: the video pipeline restarts (its pre-event buffer refills)
  bool link = false;      // mqtt.*: the link reconnects (the broker keeps the session)
  bool log = false;       // the log level: live
  std::vector<std::string> next_start;  // keys that take effect at the next start of the daemon
  nlohmann::json describe() const;
};
RestartPlan restart_plan(const std::vector<config::Change>& changes);

// What the daemon lends the desk.
class DeskHost {
 public:
  virtual ~DeskHost() = default;
  virtual Result<void> check(const config::DeviceConfig& next) const = 0;  // against the board
  virtual Result<void> apply(const config::DeviceConfig& next, const RestartPlan& plan) = 0;
  virtual nlohmann::json status() const = 0;
  virtual nlohmann::json inputs() const = 0;
  virtual nlohmann::json outputs() const = 0;
  virtual nlohmann::json events(std::size_t count) const = 0;  // the newest raised, newest last
  virtual nlohmann::json log(std::size_t count) const = 0;     // the daemon's last log lines
  // A device command (arm, disarm, outputs, maintenance, snapshot, ping) through the command table.
  virtual nlohmann::json command(const std::string& name, const nlohmann::json& args, const std::string& who) = 0;
  virtual void report(EventType type, Severity severity, nlohmann::json details) = 0;
  virtual std::chrono::system_clock::time_point utc() const = 0;
};

class Desk {
 public:
  // config_file: where the running text lives (rewritten on each commit); running_text: its text.
  static Result<std::unique_ptr<Desk>> open(const std::filesystem::path& state_dir, std::filesystem::path config_file,
                                            std::string running_text, DeskHost& host);

  // One request from a logged-in engineer; the response (answer(): ok, error, result).
  nlohmann::json handle(std::uint64_t client, const std::string& engineer, const nlohmann::json& request);
  void gone(std::uint64_t client);
  // Reverts an unconfirmed "commit confirmed" whose time is up; call it from the loop.
  void tick();
  std::optional<std::chrono::system_clock::time_point> revert_at() const;
  // An audit record of something the gatekeeper saw (a refused login).
  void audit(nlohmann::json record);
  // The control room's signed "config" command: its changes through a candidate of its own and the
  // same commit (args as device_commands' "config").
  Result<nlohmann::json> remote(const nlohmann::json& args, const std::string& who);

 private:
  Desk(std::filesystem::path config_file, std::string running_text, DeskHost& host, Revisions revisions, evidence::AuditLog audit,
       config::Candidate running);
  config::Candidate& candidate(std::uint64_t client);
  Result<nlohmann::json> commit(std::uint64_t client, const std::string& engineer, const nlohmann::json& request);
  Result<nlohmann::json> rollback(const std::string& engineer, std::uint64_t revision, const std::string& comment,
                                  EventType event);
  // Writes, applies and records a new running text; returns the new revision.
  Result<RevisionInfo> install(const config::Candidate& next, const std::string& engineer, const std::string& comment,
                               const std::vector<config::Change>& changes, const RestartPlan& plan);
  Result<nlohmann::json> show(std::uint64_t client, const nlohmann::json& request);

  std::filesystem::path config_file_;
  std::string running_text_;
  DeskHost& host_;
  Revisions revisions_;
  evidence::AuditLog audit_;
  config::Candidate running_;
  std::map<std::uint64_t, config::Candidate> candidates_;
};

}  // namespace assure::shell
