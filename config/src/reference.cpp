#include <fmt/format.h>
#include <fmt/ranges.h>

#include "assure/config/schema.hpp"

namespace assure::config {

std::string describe_type(const Key& key) {
  switch (key.type) {
    case Type::string:
      if (!key.choices.empty()) return "a choice";
      switch (key.format) {
        case Format::identifier: return "an identifier";
        case Format::broker_uri: return "a broker URI";
        case Format::path: return "a path";
        case Format::polygon: return "a polygon";
        case Format::any: return "a string";
      }
      return "a string";
    case Type::integer: return "an integer";
    case Type::number: return "a number";
    case Type::boolean: return "a boolean";
    case Type::string_list:
      return key.format == Format::broker_uri ? "a list of broker URIs" : "a list of strings";
  }
  return "a value";
}

std::string describe_default(const Key& key) {
  if (key.required) return "required";
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) return "(none)";
        else if constexpr (std::is_same_v<T, std::string>) return fmt::format("\"{}\"", v);
        else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::vector<std::string> quoted;
          for (const auto& s : v) quoted.push_back(fmt::format("\"{}\"", s));
          return fmt::format("[{}]", fmt::join(quoted, ", "));
        } else return fmt::format("{}", v);
      },
      key.fallback);
}

std::string describe_allowed(const Key& key) {
  if (!key.choices.empty()) return fmt::format("{}", fmt::join(key.choices, ", "));
  if (key.min && key.max) return fmt::format("{} to {}", *key.min, *key.max);
  if (key.min) return fmt::format("at least {}", *key.min);
  if (key.max) return fmt::format("at most {}", *key.max);
  return "";
}

// Help text goes into a Markdown table: angle brackets and pipes must not be read as markup.
static std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

static void key_table(std::string& out, const Schema& schema, const std::string& prefix) {
  out += "| key | type | default | allowed | unit | what it does |\n|---|---|---|---|---|---|\n";
  for (const Key& key : schema.keys()) {
    out += fmt::format("| `{}{}` | {} | `{}` | {} | {} | {} |\n", prefix, key.path, describe_type(key),
                       describe_default(key), describe_allowed(key), key.unit, cell(key.help));
  }
}

std::string reference_markdown(const Schema& schema, std::string_view title, std::string_view intro) {
  std::string out = fmt::format("# {}\n\n{}\n\n", title, intro);
  key_table(out, schema, "");
  for (const TableArray& array : schema.arrays()) {
    out += fmt::format("\n## `[[{}]]`\n\n{} At most {} of them.\n\n", array.path, array.help, array.max_items);
    key_table(out, *array.element, "");
  }
  return out;
}

}  // namespace assure::config
