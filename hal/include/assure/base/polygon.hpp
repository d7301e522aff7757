#pragma once
// Polygons in normalised picture coordinates (0..1 across and down), and their text form, which
// the config file, the engineer's shell and the privacy-mask element's property all use:
//   "0.10,0.20 0.45,0.20 0.45,0.60 0.10,0.60"   (x,y pairs separated by spaces)
// Several polygons in one string are separated by ';'.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"

namespace assure {

struct Point {
  double x = 0;  // 0..1 across the frame
  double y = 0;  // 0..1 down the frame
  friend bool operator==(const Point&, const Point&) = default;
};
using Polygon = std::vector<Point>;

namespace detail {
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
inline bool parse_coordinate(std::string_view text, double& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && std::isfinite(out);  // a NaN point would mask nothing
}
}  // namespace detail

constexpr std::size_t kMaxPolygonPoints = 64;

// One polygon: at least 3 points, every coordinate within 0..1. The error says which point and why.
inline Result<Polygon> parse_polygon(std::string_view text) {
  Polygon polygon;
  std::size_t index = 0;
  text = detail::trim(text);
  while (!text.empty()) {
    const std::size_t space = text.find_first_of(" \t");
    const std::string_view pair = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : detail::trim(text.substr(space));
    ++index;
    const std::size_t comma = pair.find(',');
    Point p;
    if (comma == std::string_view::npos || !detail::parse_coordinate(pair.substr(0, comma), p.x) ||
        !detail::parse_coordinate(pair.substr(comma + 1), p.y)) {
      return fail(Errc::parse, "point " + std::to_string(index) + " \"" + std::string(pair) +
                                   "\" is not x,y (two numbers 0..1 joined by a comma)");
    }
    if (p.x < 0 || p.x > 1 || p.y < 0 || p.y > 1) {
      return fail(Errc::invalid_argument, "point " + std::to_string(index) + " \"" + std::string(pair) +
                                              "\" lies outside the picture: x and y run from 0 to 1");
    }
    if (polygon.size() == kMaxPolygonPoints) {
      return fail(Errc::invalid_argument,
                  "more than " + std::to_string(kMaxPolygonPoints) + " points in one polygon");
    }
    polygon.push_back(p);
  }
  if (polygon.size() < 3) {
    return fail(Errc::invalid_argument,
                "a polygon needs at least 3 points, got " + std::to_string(polygon.size()));
  }
  return polygon;
}

// Polygons separated by ';'. An empty string is no polygons.
inline Result<std::vector<Polygon>> parse_polygons(std::string_view text) {
  std::vector<Polygon> polygons;
  std::size_t index = 0;
  while (!detail::trim(text).empty()) {
    const std::size_t semicolon = text.find(';');
    ++index;
    auto polygon = parse_polygon(text.substr(0, semicolon));
    if (!polygon) {
      return fail(polygon.error().code, "polygon " + std::to_string(index) + ": " + polygon.error().message);
    }
    polygons.push_back(std::move(*polygon));
    text = semicolon == std::string_view::npos ? std::string_view{} : text.substr(semicolon + 1);
  }
  return polygons;
}

inline std::string to_string(const Polygon& polygon) {
  std::string text;
  for (const Point& p : polygon) {
    if (!text.empty()) text += ' ';
    // Shortest form that reads back to the same double.
    char buffer[64];
    auto x = std::to_chars(buffer, buffer + sizeof buffer, p.x).ptr;
    *x++ = ',';
    auto y = std::to_chars(x, buffer + sizeof buffer, p.y).ptr;
    text.append(buffer, y);
  }
  return text;
}

inline std::string to_string(const std::vector<Polygon>& polygons) {
  std::string text;
  for (const Polygon& polygon : polygons) {
    if (!text.empty()) text += ';';
    text += to_string(polygon);
  }
  return text;
}

}  // namespace assure
