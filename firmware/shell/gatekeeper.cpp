#include "assure/firmware/shell/gatekeeper.hpp"

#include <spdlog/spdlog.h>

#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"

namespace assure::shell {

nlohmann::json answer(const nlohmann::json& request, bool ok, const std::string& error, nlohmann::json result) {
  nlohmann::json out{{"ok", ok}};
  if (request.is_object() && request.contains("id") && (request["id"].is_number_integer() || request["id"].is_string())) {
    out["id"] = request["id"];
  }
  if (ok) out["result"] = std::move(result);
  else out["error"] = error;
  return out;
}

std::string string_field(const nlohmann::json& request, const char* key) {
  if (!request.is_object()) return {};
  const auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

Gatekeeper::Gatekeeper(std::filesystem::path engineers_file, std::filesystem::path lock_file, nlohmann::json hello,
                       Hooks hooks)
    : engineers_file_(std::move(engineers_file)),
      lock_file_(std::move(lock_file)),
      hello_(std::move(hello)),
      hooks_(std::move(hooks)) {}

void Gatekeeper::request(std::uint64_t client, const Peer& peer, nlohmann::json request) {
  const std::string op = string_field(request, "op");
  if (op == "hello") {
    hooks_.reply(client, answer(request, true, "", hello_));
    return;
  }
  if (op == "login") {
    const std::string name = string_field(request, "name");
    const std::string secret = string_field(request, "secret");
    LoginVerdict verdict;
    {
      std::lock_guard lock(mutex_);
      auto engineers = Engineers::open(engineers_file_, lock_file_);
      if (!engineers) {
        spdlog::error("shell: {}", engineers.error().message);
        verdict.why = "the engineers' file cannot be read: no one can log in (see the device's log)";
      } else {
        verdict = engineers->login(valid_engineer_name(name) ? name : "-", secret, hooks_.utc());  // counted all the same
      }
      if (verdict.ok) sessions_[client] = name;
    }
    if (verdict.ok) {
      spdlog::info("shell: engineer {} logged in (pid {}, uid {})", name, peer.pid, peer.uid);
      hooks_.reply(client, answer(request, true, "", {{"engineer", name}}));
      return;
    }
    spdlog::warn("shell: login REFUSED for '{}' (uid {}): {}", excerpt(name, 32), peer.uid, verdict.why);
    hooks_.refused(Refused{excerpt(name, 32), peer, verdict});
    nlohmann::json details{{"failures", verdict.failures}};
    if (verdict.locked_until) details["locked_until"] = utc_iso8601(*verdict.locked_until);
    auto response = answer(request, false, verdict.why, nullptr);
    response["details"] = details;
    hooks_.reply(client, std::move(response));
    return;
  }
  std::string engineer;
  {
    std::lock_guard lock(mutex_);
    if (auto it = sessions_.find(client); it != sessions_.end()) engineer = it->second;
  }
  if (engineer.empty()) {
    hooks_.reply(client, answer(request, false, "log in first: {\"op\":\"login\",\"name\":...,\"secret\":...}", nullptr));
    return;
  }
  if (op == "logout") {
    gone(client);
    hooks_.reply(client, answer(request, true, "", nullptr));
    return;
  }
  hooks_.forward(Forward{client, engineer, std::move(request)});
}

void Gatekeeper::gone(std::uint64_t client) {
  std::lock_guard lock(mutex_);
  sessions_.erase(client);
}

}  // namespace assure::shell
