#include "uplink/commands.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <random>

#include "assure/base/utc.hpp"
#include "assure/pipelines/files.hpp"
#include "evidence/signing.hpp"

namespace assure::uplink {

namespace {

std::int64_t ms_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string new_nonce() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

std::string sign_command(const evidence::SigningKey& key, std::string_view name, std::string_view site,
                         std::string_view device, std::chrono::system_clock::time_point time, std::string_view nonce,
                         const nlohmann::json& args) {
  const nlohmann::json command{{"name", name},   {"site", site},   {"device", device},
                               {"time", utc_iso8601(time)}, {"nonce", nonce}, {"args", args}};
  return nlohmann::json{{"command", command}, {"signature", key.sign_hex(command.dump())}}.dump();
}

CommandGate::CommandGate(std::string control_room_key, std::string site, std::string device,
                         std::chrono::seconds window, std::filesystem::path nonces_file)
    : key_(std::move(control_room_key)),
      site_(std::move(site)),
      device_(std::move(device)),
      window_(window),
      nonces_file_(std::move(nonces_file)) {
  load();
}

void CommandGate::load() {
  std::ifstream in(nonces_file_);
  if (!in) return;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    // Refusing every command for ever would be worse: start again, and say so.
    spdlog::warn("commands: {} is not a nonce file; starting a new one", nonces_file_.string());
    return;
  }
  for (const auto& [nonce, time] : j.items()) {
    if (time.is_number_integer()) seen_[nonce] = time.get<std::int64_t>();
  }
}

void CommandGate::save() {
  if (nonces_file_.empty()) return;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [nonce, time] : seen_) j[nonce] = time;
  if (auto written = pipelines::write_durably(nonces_file_, j.dump(), 0600); !written) {
    spdlog::error("commands: {}", written.error().message);
  }
}

Result<Command> CommandGate::admit(std::string_view name, std::string_view payload,
                                   std::chrono::system_clock::time_point now) {
  if (key_.empty()) return fail(Errc::unsupported, "no control room key is configured (uplink.control_room_key)");
  const auto j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("command") || !j["command"].is_object() ||
      !j.contains("signature") || !j["signature"].is_string()) {
    return fail(Errc::parse, "not a signed command (a JSON object with \"command\" and \"signature\")");
  }
  const auto& c = j["command"];
  if (!evidence::verify_signature(key_, c.dump(), j["signature"].get<std::string>())) {
    return fail(Errc::invalid_argument, "the signature does not verify with the control room's key");
  }
  Command command;
  std::string site, device, time;
  try {
    command.name = c.at("name");
    site = c.at("site");
    device = c.at("device");
    time = c.at("time");
    command.nonce = c.at("nonce");
    if (c.contains("args")) command.args = c["args"];
  } catch (const nlohmann::json::exception&) {
    return fail(Errc::parse, "a signed command without name, site, device, time and nonce");
  }
  if (command.name != name) {
    return fail(Errc::invalid_argument, fmt::format("signed for \"{}\" but sent on cmd/{}", command.name, name));
  }
  if (site != site_ || device != device_) {
    return fail(Errc::invalid_argument, fmt::format("addressed to {}/{}, not this device", site, device));
  }
  const auto when = parse_utc_iso8601(time);
  if (!when) return fail(Errc::parse, fmt::format("time \"{}\" is not a UTC time", time));
  command.time = *when;
  const auto skew = std::chrono::abs(std::chrono::duration_cast<std::chrono::seconds>(now - *when));
  if (skew > window_) {
    return fail(Errc::invalid_argument, fmt::format("its time {} is {} s from the device's clock (window {} s): "
                                                    "a replay or a wrong clock",
                                                    time, skew.count(), window_.count()));
  }
  if (command.nonce.size() < 16) return fail(Errc::invalid_argument, "a nonce of fewer than 16 characters");
  // Forget nonces the window has left behind; a command older than those is refused by its time.
  const std::int64_t horizon = ms_of(now) - 2 * std::chrono::duration_cast<std::chrono::milliseconds>(window_).count();
  std::erase_if(seen_, [&](const auto& entry) { return entry.second < horizon; });
  if (seen_.contains(command.nonce)) {
    return fail(Errc::invalid_argument, fmt::format("nonce {} was used already: a replayed command", command.nonce));
  }
  seen_[command.nonce] = ms_of(*when);
  save();
  return command;
}

}  // namespace assure::uplink
