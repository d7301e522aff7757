#pragma once
// Bounds on bytes from outside, checked before any parser sees them. JSON and TOML parsers (and
// serialisers) recurse once per level of nesting: a 100,000-deep payload overflows the stack of
// the process that reads it. These scans do not recurse and look at each byte once, so a payload
// of any size or shape costs at most its length and is refused with where and why.

#include <cstddef>
#include <string>
#include <string_view>

#include "assure/base/error.hpp"

namespace assure {

struct InputBounds {
  std::size_t max_bytes = 256u << 10;  // the whole text
  std::size_t max_depth = 32;          // arrays and objects (tables) inside one another
  std::size_t max_string = 64u << 10;  // one string, key or (TOML) line
};

// The first `limit` characters of `text` for an error message, with the length said when cut:
// a 10 MB value is never echoed whole.
inline std::string excerpt(std::string_view text, std::size_t limit = 60) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > limit) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

// A name from outside (a topic level, a clip or event id) that may become one path component:
// 1 to 200 of A-Z a-z 0-9 . _ -, and not "." or "..". (200 leaves room for the suffixes added to
// it within a file name's 255 bytes; a clip id is a device id, a camera id and a time.)
inline bool plain_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// JSON: size, nesting depth and string length, outside and inside strings told apart.
inline Result<void> check_json_bounds(std::string_view text, const InputBounds& bounds = {}) {
  if (text.size() > bounds.max_bytes) {
    return fail(Errc::invalid_argument, "a JSON text of " + std::to_string(text.size()) + " bytes; at most " +
                                            std::to_string(bounds.max_bytes) + " are taken");
  }
  std::size_t depth = 0, string_start = 0;
  bool in_string = false, escaped = false;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      if (in_string && at - string_start > bounds.max_string) {
        return fail(Errc::invalid_argument, "a JSON string at byte " + std::to_string(string_start) + " is longer than " +
                                                std::to_string(bounds.max_string) + " bytes");
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = at;
    } else if (c == '[' || c == '{') {
      if (++depth > bounds.max_depth) {
        return fail(Errc::invalid_argument, "JSON nested more than " + std::to_string(bounds.max_depth) +
                                                " levels deep at byte " + std::to_string(at));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return {};
}

// TOML: size, line length, and the depth of nesting both by brackets ([ ] { } in values) and by
// dotted keys (a.b.c = 1 and [a.b.c] each make a level per part). Strings of all four kinds,
// multi-line ones included, and comments are skipped.
inline Result<void> check_toml_bounds(std::string_view text, const InputBounds& bounds = {}) {
  auto refuse = [](std::size_t line, std::string why) {
    return fail(Errc::invalid_argument, "line " + std::to_string(line) + ": " + why);
  };
  if (text.size() > bounds.max_bytes) {
    return fail(Errc::invalid_argument, "a file of " + std::to_string(text.size()) + " bytes; at most " +
                                            std::to_string(bounds.max_bytes) + " are taken");
  }
  std::size_t line = 1, line_start = 0, brackets = 0, dots = 0;
  enum class In { code, basic, literal, multi_basic, multi_literal, comment } in = In::code;
  bool escaped = false;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (c == '\n') {
      if (at - line_start > bounds.max_string) {
        return refuse(line, "longer than " + std::to_string(bounds.max_string) + " bytes");
      }
      ++line;
      line_start = at + 1;
      dots = 0;
      if (in == In::comment || in == In::basic || in == In::literal) in = In::code;
      continue;
    }
    const std::string_view ahead = text.substr(at);
    switch (in) {
      case In::comment: continue;
      case In::basic:
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in = In::code;
        continue;
      case In::literal:
        if (c == '\'') in = In::code;
        continue;
      case In::multi_basic:
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (ahead.starts_with("\"\"\"")) in = In::code, at += 2;
        continue;
      case In::multi_literal:
        if (ahead.starts_with("'''")) in = In::code, at += 2;
        continue;
      case In::code: break;
    }
    if (ahead.starts_with("\"\"\"")) in = In::multi_basic, at += 2;
    else if (ahead.starts_with("'''")) in = In::multi_literal, at += 2;
    else if (c == '"') in = In::basic;
    else if (c == '\'') in = In::literal;
    else if (c == '#') in = In::comment;
    else if (c == '[' || c == '{') ++brackets;
    else if ((c == ']' || c == '}') && brackets > 0) --brackets;
    else if (c == '.') ++dots;  // numbers have dots too: a generous bound on the line's count serves both
    if (brackets > bounds.max_depth) {
      return refuse(line, "nested more than " + std::to_string(bounds.max_depth) + " levels deep");
    }
    if (dots > 4 * bounds.max_depth) {
      return refuse(line, "a key of more than " + std::to_string(4 * bounds.max_depth) + " dotted parts");
    }
  }
  if (text.size() - line_start > bounds.max_string) {
    return refuse(line, "longer than " + std::to_string(bounds.max_string) + " bytes");
  }
  return {};
}

}  // namespace assure
