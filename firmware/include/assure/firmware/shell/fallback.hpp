#pragma once
// At start, a device file that does not load must not leave a device offline: the last revision
// known good (it ran, or was confirmed) comes back instead, and the daemon says so in its log and
// to the control room. The revisions are found in the state directory the broken file names, if
// its TOML still reads, or else in the schema's default one.

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "assure/config/device_config.hpp"

namespace assure::shell {

struct Fallback {
  config::DeviceConfig config;
  std::string text;
  nlohmann::json details;  // for the config_fallback event
};

// `why`: what was wrong with the device file. nullopt: there is no good revision to go back to.
std::optional<Fallback> last_good_config(const std::filesystem::path& file, const std::string& why);

}  // namespace assure::shell
