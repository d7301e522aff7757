#pragma once
// The door of the control socket, on the socket's thread: "hello" and "login" are answered here
// (Argon2id takes a moment, and never on the daemon's loop, which carries alarms); everything else
// from a logged-in engineer is handed on with their name; anything from a client that has not
// logged in is refused. A failed login is handed on too, for the control room and the audit log.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "assure/firmware/shell/control_socket.hpp"
#include "assure/firmware/shell/engineers.hpp"

namespace assure::shell {

inline constexpr int kProtocolVersion = 1;

class Gatekeeper {
 public:
  struct Forward {  // a request for the daemon's loop
    std::uint64_t client;
    std::string engineer;
    nlohmann::json request;
  };
  struct Refused {  // a failed login
    std::string name;
    Peer peer;
    LoginVerdict verdict;
  };
  struct Hooks {
    std::function<void(Forward)> forward;
    std::function<void(Refused)> refused;
    std::function<void(std::uint64_t client, nlohmann::json response)> reply;
    std::function<std::chrono::system_clock::time_point()> utc;
  };
  // The engineers' file is read at each login, so `assure-shell passwd` takes effect at once.
  Gatekeeper(std::filesystem::path engineers_file, std::filesystem::path lock_file, nlohmann::json hello, Hooks hooks);

  void request(std::uint64_t client, const Peer& peer, nlohmann::json request);  // the socket's thread
  void gone(std::uint64_t client);

 private:
  std::mutex mutex_;
  std::filesystem::path engineers_file_, lock_file_;
  nlohmann::json hello_;
  Hooks hooks_;
  std::map<std::uint64_t, std::string> sessions_;  // client -> engineer
};

// A response: {"ok": true, "result": ...} or {"ok": false, "error": ...}, with the request's "id".
nlohmann::json answer(const nlohmann::json& request, bool ok, const std::string& error, nlohmann::json result);
// A request's string field, or "" when it is missing or not a string (never a throw).
std::string string_field(const nlohmann::json& request, const char* key);

}  // namespace assure::shell
