#include "assure/firmware/uplink/topics.hpp"

#include <fmt/format.h>

namespace assure::uplink {

Topics::Topics(std::string prefix, std::string site, std::string device)
    : prefix_(std::move(prefix)), site_(std::move(site)), device_(std::move(device)) {}

std::string Topics::base() const { return fmt::format("{}/{}/{}", prefix_, site_, device_); }

std::optional<ParsedTopic> parse_topic(std::string_view prefix, std::string_view topic) {
  if (topic.size() <= prefix.size() || topic.substr(0, prefix.size()) != prefix || topic[prefix.size()] != '/') {
    return std::nullopt;
  }
  std::string_view rest = topic.substr(prefix.size() + 1);
  auto take = [&rest]() -> std::optional<std::string> {
    if (rest.empty()) return std::nullopt;
    const auto slash = rest.find('/');
    std::string level(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (level.empty()) return std::nullopt;
    return level;
  };
  ParsedTopic parsed;
  auto site = take();
  auto device = take();
  auto kind = take();
  if (!site || !device || !kind) return std::nullopt;
  parsed.site = *site;
  parsed.device = *device;
  parsed.kind = *kind;
  parsed.rest = std::string(rest);
  return parsed;
}

std::string fleet_filter(std::string_view prefix, std::string_view site, std::string_view device) {
  return fmt::format("{}/{}/{}/#", prefix, site, device);
}

}  // namespace assure::uplink
