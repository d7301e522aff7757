#pragma once
// UTC time as text, the one form every log, message, clip and sidecar uses.

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

namespace assure {

// "2026-11-23T01:02:03.456Z"
inline std::string utc_iso8601(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return text;
}

// "20261123T010203Z": for names of files and ids.
inline std::string utc_compact(std::chrono::system_clock::time_point t) {
  const std::string iso = utc_iso8601(t);
  std::string out;
  for (std::size_t i = 0; i < 19; ++i) {
    if (iso[i] != '-' && iso[i] != ':') out += iso[i];
  }
  return out + "Z";
}

// The reverse of utc_iso8601 (milliseconds optional); nullopt for anything else.
inline std::optional<std::chrono::system_clock::time_point> parse_utc_iso8601(const std::string& text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 || used != 19) {
    return std::nullopt;
  }
  std::string rest = text.substr(19);
  if (rest.size() == 5 && rest[0] == '.' && rest[4] == 'Z') {
    if (std::sscanf(rest.c_str(), ".%3d", &ms) != 1) return std::nullopt;
  } else if (rest != "Z") {
    return std::nullopt;
  }
  // system_clock counts nanoseconds in 64 bits: years past 2262 would overflow it (found by
  // fuzz_receiver in an event's time), and nothing the fleet says happened before 1970 or after 2200.
  if (y < 1970 || y > 2200 || h < 0 || mi < 0 || s < 0 || ms < 0) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
}

}  // namespace assure
