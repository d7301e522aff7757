#pragma once
// Sunrise and sunset from the site's latitude and longitude, so a security light comes on only
// after dark on a pole with no light sensor. The NOAA / Meeus low-precision solar position (good to
// a minute or two at UK latitudes), with the usual -0.833 degrees for refraction and the sun's disc.

#include <chrono>
#include <optional>

namespace assure::alarm {

struct SunDay {
  // nullopt when the sun does not rise (polar night) or does not set (midnight sun) that day.
  std::optional<std::chrono::system_clock::time_point> sunrise, sunset;
  bool always_up = false;    // midnight sun
  bool always_down = false;  // polar night
};

// The sunrise and sunset around the solar noon nearest `when` (latitude north +, longitude east +).
SunDay sun_day(double latitude, double longitude, std::chrono::system_clock::time_point when);

// True between sunset and sunrise at the site.
bool is_dark(double latitude, double longitude, std::chrono::system_clock::time_point when);

}  // namespace assure::alarm
