#pragma once
// Enrolled device keys, as the control room's tools read them: DIR/<device id>.pub holds the
// device's public key (64 hex digits, as assure-key device prints it). Anything else is logged
// and left out.

#include <filesystem>
#include <map>
#include <string>

namespace assure::receiver {

std::map<std::string, std::string> load_keys(const std::filesystem::path& dir);

}  // namespace assure::receiver
