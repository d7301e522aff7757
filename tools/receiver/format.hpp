#pragma once
// How the control-room receiver shows what arrives: one line per message, for people or (--json)
// for machines. A payload that cannot be read is shown as such, never dropped and never fatal.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace assure::receiver {

struct Arrival {
  std::string topic;
  std::string payload;
  bool retained = false;
  std::chrono::system_clock::time_point received;
  std::optional<bool> verified;  // events: whether the device's signature verified (false: no key enrolled)
};

std::string human_line(std::string_view prefix, const Arrival& arrival);
std::string json_line(std::string_view prefix, const Arrival& arrival);

}  // namespace assure::receiver
