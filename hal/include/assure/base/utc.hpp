#pragma once
// UTC time as text, the one form every log, message, clip and sidecar uses.

#include <chrono>
#include <cstdio>
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

}  // namespace assure
