#include "assure/firmware/alarm/sun.hpp"

#include <cmath>
#include <numbers>

namespace assure::alarm {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;
constexpr double kJ2000 = 2451545.0;  // Julian date of 2000-01-01 12:00 UTC

double julian(std::chrono::system_clock::time_point t) {
  const double unix_s = std::chrono::duration<double>(t.time_since_epoch()).count();
  return unix_s / 86400.0 + 2440587.5;
}

std::chrono::system_clock::time_point from_julian(double jd) {
  const double unix_s = (jd - 2440587.5) * 86400.0;
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(unix_s))};
}

}  // namespace

SunDay sun_day(double latitude, double longitude, std::chrono::system_clock::time_point when) {
  // The solar noon nearest `when`: mean solar noon falls at n - longitude/360 days from J2000.
  const double n = std::round(julian(when) - kJ2000 + longitude / 360.0);
  const double j_star = n - longitude / 360.0;
  const double m = std::fmod(357.5291 + 0.98560028 * j_star, 360.0);  // mean anomaly
  const double c = 1.9148 * std::sin(m * kDeg) + 0.0200 * std::sin(2 * m * kDeg) + 0.0003 * std::sin(3 * m * kDeg);
  const double lambda = std::fmod(m + c + 180.0 + 102.9372, 360.0);  // ecliptic longitude
  const double transit = kJ2000 + j_star + 0.0053 * std::sin(m * kDeg) - 0.0069 * std::sin(2 * lambda * kDeg);
  const double sin_decl = std::sin(lambda * kDeg) * std::sin(23.4397 * kDeg);
  const double cos_decl = std::cos(std::asin(sin_decl));
  const double cos_omega =
      (std::sin(-0.833 * kDeg) - std::sin(latitude * kDeg) * sin_decl) / (std::cos(latitude * kDeg) * cos_decl);
  SunDay day;
  if (cos_omega < -1.0) {
    day.always_up = true;
  } else if (cos_omega > 1.0) {
    day.always_down = true;
  } else {
    const double omega = std::acos(cos_omega) / kDeg;  // hour angle of sunset, degrees
    day.sunrise = from_julian(transit - omega / 360.0);
    day.sunset = from_julian(transit + omega / 360.0);
  }
  return day;
}

bool is_dark(double latitude, double longitude, std::chrono::system_clock::time_point when) {
  const SunDay day = sun_day(latitude, longitude, when);
  if (day.always_up) return false;
  if (day.always_down) return true;
  return when < *day.sunrise || when > *day.sunset;
}

}  // namespace assure::alarm
