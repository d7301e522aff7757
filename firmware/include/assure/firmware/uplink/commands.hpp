#pragma once
// Commands from the control room, on <base>/cmd/<name>. Obeyed only when signed by the control
// room's Ed25519 key, addressed to this device, timestamped within the replay window of the
// device's clock, and carrying a nonce not seen in that window (nonces are kept on disk, so a
// restart does not reopen the window). Anything else is refused with the reason. A nonce that
// cannot be kept on storage refuses its command; a nonce file that cannot be read refuses every
// command signed before it was found so (a replay could hide in what was lost).
//
// Payload: {"command": {"name","site","device","time","nonce","args"}, "signature": hex}; the
// signed bytes are the "command" object as nlohmann::json dump() writes it (keys sorted).

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"

namespace assure::evidence {
class SigningKey;
}

namespace assure::uplink {

struct Command {
  std::string name;
  std::string nonce;
  std::chrono::system_clock::time_point time;
  nlohmann::json args = nlohmann::json::object();
};

// For the control room's tools and tests: a signed command payload.
std::string sign_command(const evidence::SigningKey& key, std::string_view name, std::string_view site,
                         std::string_view device, std::chrono::system_clock::time_point time,
                         std::string_view nonce, const nlohmann::json& args = nlohmann::json::object());
std::string new_nonce();

class CommandGate {
 public:
  // control_room_key: hex public key; empty refuses everything. nonces_file: where seen nonces live.
  CommandGate(std::string control_room_key, std::string site, std::string device, std::chrono::seconds window,
              std::filesystem::path nonces_file);

  // `name` is the last level of the topic it came on. Errors say why it was refused.
  Result<Command> admit(std::string_view name, std::string_view payload, std::chrono::system_clock::time_point now);

 private:
  void load(std::chrono::system_clock::time_point now);
  Result<void> save();
  std::string key_, site_, device_;
  std::chrono::seconds window_;
  std::filesystem::path nonces_file_;
  std::map<std::string, std::int64_t> seen_;  // nonce -> command time (ms since epoch)
  std::int64_t not_before_ = 0;  // commands signed at or before this (ms) are refused: set when nonces were lost
};

}  // namespace assure::uplink
