#include "assure/firmware/uplink/commands.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <random>

#include "assure/base/utc.hpp"
#include "assure/base/files.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/json_input.hpp"

namespace assure::uplink {

namespace {

std::int64_t ms_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

constexpr std::size_t kMaxNonceFile = 4u << 20;
// A command is small: its arguments are a few names and numbers.
constexpr InputBounds kCommandBounds{.max_bytes = 64u << 10, .max_depth = 8, .max_string = 4096};

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
  load(std::chrono::system_clock::now());
}

void CommandGate::load(std::chrono::system_clock::time_point now) {
  std::error_code ec;
  if (nonces_file_.empty() || !std::filesystem::exists(nonces_file_, ec)) return;
  // Fail closed: nonces that cannot be read may include one an attacker would replay, so every
  // command signed before this moment is refused (not_before), and the mark itself is kept on disk.
  auto distrust = [&](const std::string& why) {
    spdlog::error("commands: {}: {}; refusing every command signed before now, so none can be replayed",
                  nonces_file_.string(), why);
    not_before_ = ms_of(now);
    if (auto saved = save(); !saved) spdlog::error("commands: {}", saved.error().message);
  };
  const auto text = base::read_bounded(nonces_file_, kMaxNonceFile);
  if (!text) return distrust(text.error().message);
  auto j = parse_json(*text, "nonce file", {.max_bytes = kMaxNonceFile, .max_depth = 4, .max_string = 256});
  if (!j || !j->is_object()) return distrust(j ? "not a JSON object" : j.error().message);
  const nlohmann::json* seen = &*j;  // the first format: one object of nonce -> time
  if (j->contains("version")) {
    if (!(*j)["not_before"].is_number_integer() || !(*j)["seen"].is_object()) return distrust("not a nonce file");
    not_before_ = (*j)["not_before"].get<std::int64_t>();
    seen = &(*j)["seen"];
  }
  for (const auto& [nonce, time] : seen->items()) {
    if (!time.is_number_integer()) return distrust(fmt::format("nonce \"{}\" has no time", excerpt(nonce)));
    seen_[nonce] = time.get<std::int64_t>();
  }
}

Result<void> CommandGate::save() {
  if (nonces_file_.empty()) return {};
  nlohmann::json seen = nlohmann::json::object();
  for (const auto& [nonce, time] : seen_) seen[nonce] = time;
  const nlohmann::json j{{"version", 1}, {"not_before", not_before_}, {"seen", std::move(seen)}};
  if (auto written = base::write_durably(nonces_file_, j.dump(), 0600); !written) {
    return fail(Errc::io, "the nonce could not be kept on storage, so a replay could not be told: " +
                              written.error().message);
  }
  return {};
}

Result<Command> CommandGate::admit(std::string_view name, std::string_view payload,
                                   std::chrono::system_clock::time_point now) {
  if (key_.empty()) return fail(Errc::unsupported, "no control room key is configured (uplink.control_room_key)");
  auto parsed = parse_json(payload, "command payload", kCommandBounds);
  if (!parsed) {
    return fail(Errc::parse, "not a signed command (a JSON object with \"command\" and \"signature\"): " +
                                 parsed.error().message);
  }
  const nlohmann::json& j = *parsed;
  if (!j.is_object() || !j.contains("command") || !j["command"].is_object() || !j.contains("signature") ||
      !j["signature"].is_string()) {
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
  if (ms_of(*when) <= not_before_) {
    return fail(Errc::invalid_argument, fmt::format("signed at {}, before the device lost its record of used nonces: "
                                                    "refused, as it could be a replay (send it again)", time));
  }
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
  if (auto saved = save(); !saved) {
    seen_.erase(command.nonce);
    return std::unexpected(saved.error());
  }
  return command;
}

}  // namespace assure::uplink
