#include "enrolment.hpp"

#include <spdlog/spdlog.h>

#include "assure/base/files.hpp"
#include "assure/base/input_bounds.hpp"

namespace assure::receiver {

std::map<std::string, std::string> load_keys(const std::filesystem::path& dir) {
  std::map<std::string, std::string> keys;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".pub" || !plain_name(entry.path().stem().string())) continue;
    auto text = base::read_bounded(entry.path(), 256);
    std::string hex = text ? text->substr(0, text->find_first_of(" \t\r\n")) : std::string{};
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      spdlog::error("{}: not a device public key (64 hex digits); ignored", entry.path().string());
      continue;
    }
    keys[entry.path().stem().string()] = hex;
  }
  if (ec) spdlog::error("--keys {}: {}", dir.string(), ec.message());
  return keys;
}

}  // namespace assure::receiver
