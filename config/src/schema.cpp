#include "assure/config/schema.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <regex>
#include <stdexcept>
#include <toml++/toml.h>

#include "assure/base/input_bounds.hpp"
#include "assure/base/polygon.hpp"

namespace assure::config {

std::string Diagnostic::to_string() const {
  return fmt::format("{}:{}:{}: {}: {}", where.file, where.line, where.column,
                     path.empty() ? "(file)" : path, message);
}

std::string to_string(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

// ---- Values -------------------------------------------------------------------------------

const Value& Values::value(std::string_view path) const {
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    throw std::logic_error(fmt::format("config key '{}' is not declared or has no value", path));
  }
  return it->second.value;
}

bool Values::has(std::string_view path) const {
  auto it = entries_.find(path);
  return it != entries_.end() && !std::holds_alternative<std::monostate>(it->second.value);
}

bool Values::set_in_file(std::string_view path) const {
  auto it = entries_.find(path);
  return it != entries_.end() && it->second.from_file;
}

template <class T>
static const T& typed(const Value& v, std::string_view path) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  // A required key whose value was refused holds nothing: its error is reported already, and the
  // rules that read it see an empty value rather than stop the check (found by fuzz_config).
  static const T empty{};
  if (std::holds_alternative<std::monostate>(v)) return empty;
  throw std::logic_error(fmt::format("config key '{}' read with the wrong type", path));
}

const std::string& Values::string(std::string_view p) const { return typed<std::string>(value(p), p); }
std::int64_t Values::integer(std::string_view p) const { return typed<std::int64_t>(value(p), p); }
double Values::number(std::string_view p) const { return typed<double>(value(p), p); }
bool Values::boolean(std::string_view p) const { return typed<bool>(value(p), p); }
const std::vector<std::string>& Values::strings(std::string_view p) const {
  return typed<std::vector<std::string>>(value(p), p);
}

const std::vector<Values>& Values::tables(std::string_view path) const {
  auto it = tables_.find(path);
  if (it == tables_.end()) {
    throw std::logic_error(fmt::format("config table array '{}' is not declared", path));
  }
  return it->second;
}

Position Values::where(std::string_view path) const {
  auto it = entries_.find(path);
  return it == entries_.end() ? table_position_ : it->second.where;
}

// ---- Schema -------------------------------------------------------------------------------

Schema& Schema::add(Key key) {
  keys_.push_back(std::move(key));
  return *this;
}

Schema& Schema::add_array(std::string path, std::string help, Schema element,
                          std::size_t max_items) {
  arrays_.push_back(TableArray{std::move(path), std::move(help),
                               std::make_shared<const Schema>(std::move(element)), max_items});
  return *this;
}

Schema& Schema::rule(Rule check) {
  rules_.push_back(std::move(check));
  return *this;
}

const Key* Schema::find(std::string_view path) const {
  auto it = std::find_if(keys_.begin(), keys_.end(), [&](const Key& k) { return k.path == path; });
  return it == keys_.end() ? nullptr : &*it;
}

const TableArray* Schema::find_array(std::string_view path) const {
  auto it = std::find_if(arrays_.begin(), arrays_.end(),
                         [&](const TableArray& a) { return a.path == path; });
  return it == arrays_.end() ? nullptr : &*it;
}

namespace {

// A device or board file is a few kilobytes; these bounds are far past any real one.
constexpr InputBounds kTomlBounds{.max_bytes = 1u << 20, .max_depth = 16, .max_string = 64u << 10};
constexpr std::size_t kMaxValue = 4096;  // one string value (a polygon of 64 points is ~1 KB)


std::string node_kind(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string format_number(double v) {
  return v == static_cast<double>(static_cast<std::int64_t>(v)) ? fmt::format("{}", static_cast<std::int64_t>(v))
                                                               : fmt::format("{}", v);
}

std::string with_unit(const std::string& text, const Key& key) {
  return key.unit.empty() ? text : text + " " + key.unit;
}

const std::regex& identifier_pattern() {
  static const std::regex re("^[a-z0-9][a-z0-9_-]{0,63}$");
  return re;
}

const std::regex& broker_pattern() {
  static const std::regex re("^(tcp|ssl|mqtt|mqtts|ws|wss)://(\\[[0-9a-fA-F:]+\\]|[A-Za-z0-9.-]+):([0-9]{1,5})(/.*)?$");
  return re;
}

// Returns an empty string when `text` fits the format, or what is wrong with it.
std::string check_format(const Key& key, const std::string& text) {
  // Before any pattern sees it (std::regex recurses per character).
  if (text.size() > kMaxValue) {
    return fmt::format("a value of {} bytes; at most {} are taken", text.size(), kMaxValue);
  }
  switch (key.format) {
    case Format::identifier:
      if (!std::regex_match(text, identifier_pattern())) {
        return fmt::format("\"{}\" is not an identifier: use 1 to 64 of a-z, 0-9, '-' and '_', "
                           "starting with a letter or digit", excerpt(text));
      }
      break;
    case Format::broker_uri: {
      std::smatch parts;
      if (!std::regex_match(text, parts, broker_pattern())) {
        return fmt::format("\"{}\" is not a broker URI such as tcp://127.0.0.1:1883 or "
                           "ssl://broker.example:8883", excerpt(text));
      }
      if (const int port = std::stoi(parts[3].str()); port < 1 || port > 65535) {
        return fmt::format("\"{}\": the port must be 1 to 65535", excerpt(text));
      }
      break;
    }
    case Format::path:
      if (text.find('\0') != std::string::npos) return "a path cannot hold a NUL character";
      break;
    case Format::polygon:
      if (auto polygon = parse_polygon(text); !polygon) return polygon.error().message;
      break;
    case Format::any: break;
  }
  if (!key.choices.empty() &&
      std::find(key.choices.begin(), key.choices.end(), text) == key.choices.end()) {
    return fmt::format("\"{}\" is not one of: {}", excerpt(text), fmt::join(key.choices, ", "));
  }
  return {};
}

}  // namespace

struct Validator {
  std::string file;
  Diagnostics& out;

  Position at(const toml::source_region& region) const {
    return Position{file, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
  }

  void report(const toml::source_region& region, std::string path, std::string message) {
    out.push_back(Diagnostic{at(region), std::move(path), std::move(message)});
  }

  // `display` is the path as the engineer sees it (with [n] for array items); `path` is the
  // schema's, relative to the table being validated.
  Values table(const toml::table& t, const Schema& schema, const std::string& display) {
    Values values;
    values.table_position_ = at(t.source());
    if (values.table_position_.line == 0) values.table_position_ = Position{file, 1, 1};
    walk(t, schema, "", display, values);
    for (const Key& key : schema.keys_) {
      if (values.entries_.contains(key.path)) continue;
      if (key.required) {
        out.push_back(Diagnostic{values.table_position_, join(display, key.path),
                                 fmt::format("missing required key ({})", key.help)});
      }
      values.entries_[key.path] = Values::Entry{key.fallback, values.table_position_, false};
    }
    for (const TableArray& array : schema.arrays_) values.tables_.try_emplace(array.path);
    for (const Rule& rule : schema.rules_) {
      const std::size_t before = out.size();
      rule(values, out);
      for (std::size_t i = before; i < out.size(); ++i) out[i].path = join(display, out[i].path);
    }
    return values;
  }

  static std::string join(const std::string& a, const std::string& b) {
    return a.empty() ? b : b.empty() ? a : a + "." + b;
  }

  void walk(const toml::table& t, const Schema& schema, const std::string& prefix,
            const std::string& display, Values& values) {
    for (const auto& [k, node] : t) {
      const std::string path = join(prefix, std::string(k.str()));
      const std::string shown = join(display, path);
      if (const Key* key = schema.find(path)) {
        leaf(*key, node, k.source(), shown, values);
      } else if (const TableArray* array = schema.find_array(path)) {
        items(*array, node, k.source(), shown, values);
      } else if (node.is_table() && declares_prefix(schema, path + ".")) {
        walk(*node.as_table(), schema, path, display, values);
      } else {
        report(k.source(), shown, unknown_key_message(schema, path, node));
      }
    }
  }

  static bool declares_prefix(const Schema& schema, const std::string& prefix) {
    auto starts = [&](const std::string& p) { return p.rfind(prefix, 0) == 0; };
    return std::any_of(schema.keys_.begin(), schema.keys_.end(), [&](auto& k) { return starts(k.path); }) ||
           std::any_of(schema.arrays_.begin(), schema.arrays_.end(), [&](auto& a) { return starts(a.path); });
  }

  static std::string unknown_key_message(const Schema& schema, const std::string& path,
                                         const toml::node& node) {
    std::string best;
    std::size_t best_distance = 4;  // suggest only close misspellings
    auto consider = [&](const std::string& candidate) {
      const std::size_t d = edit_distance(path, candidate);
      if (d < best_distance) best_distance = d, best = candidate;
    };
    for (const Key& key : schema.keys_) consider(key.path);
    for (const TableArray& array : schema.arrays_) consider(array.path);
    std::string message = node.is_table() ? "unknown table" : "unknown key";
    if (!best.empty()) message += fmt::format(" (did you mean '{}'?)", best);
    return message;
  }

  void items(const TableArray& array, const toml::node& node, const toml::source_region& where,
             const std::string& shown, Values& values) {
    const toml::array* list = node.as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      report(where, shown, fmt::format("expected a list of tables ([[{}]]), got {}", array.path, node_kind(node)));
      return;
    }
    if (list->size() > array.max_items) {
      report(where, shown, fmt::format("{} items; at most {} are allowed", list->size(), array.max_items));
      return;
    }
    auto& tables = values.tables_[array.path];
    for (std::size_t i = 0; i < list->size(); ++i) {
      tables.push_back(table(*(*list)[i].as_table(), *array.element, fmt::format("{}[{}]", shown, i)));
    }
  }

  void leaf(const Key& key, const toml::node& node, const toml::source_region& where,
            const std::string& shown, Values& values) {
    const Position position = at(node.source());
    auto store = [&](Value v) { values.entries_[key.path] = Values::Entry{std::move(v), position, true}; };
    // Present even when its value is refused below, so it is not reported missing as well.
    store(key.fallback);
    auto wrong_type = [&] {
      report(node.source(), shown, fmt::format("expected {}, got {}", describe_type(key), node_kind(node)));
    };
    auto in_range = [&](double v) {
      if (key.min && v < *key.min) {
        report(node.source(), shown, fmt::format("{} is below the minimum {}", format_number(v),
                                                 with_unit(format_number(*key.min), key)));
        return false;
      }
      if (key.max && v > *key.max) {
        report(node.source(), shown, fmt::format("{} is above the maximum {}", format_number(v),
                                                 with_unit(format_number(*key.max), key)));
        return false;
      }
      return true;
    };
    (void)where;
    switch (key.type) {
      case Type::string: {
        if (!node.is_string()) return wrong_type();
        const std::string text = node.as_string()->get();
        if (auto problem = check_format(key, text); !problem.empty()) {
          return report(node.source(), shown, problem);
        }
        return store(text);
      }
      case Type::integer: {
        if (!node.is_integer()) return wrong_type();
        const std::int64_t v = node.as_integer()->get();
        if (in_range(static_cast<double>(v))) store(v);
        return;
      }
      case Type::number: {
        double v = 0;
        if (node.is_integer()) v = static_cast<double>(node.as_integer()->get());
        else if (node.is_floating_point()) v = node.as_floating_point()->get();
        else return wrong_type();
        if (!std::isfinite(v)) return report(node.source(), shown, "expected a finite number, got nan or inf");
        if (in_range(v)) store(v);
        return;
      }
      case Type::boolean:
        if (!node.is_boolean()) return wrong_type();
        return store(node.as_boolean()->get());
      case Type::string_list: {
        const toml::array* list = node.as_array();
        if (list == nullptr) return wrong_type();
        std::vector<std::string> items;
        bool ok = true;
        for (std::size_t i = 0; i < list->size(); ++i) {
          const toml::node& item = (*list)[i];
          const std::string item_path = fmt::format("{}[{}]", shown, i);
          if (!item.is_string()) {
            report(item.source(), item_path, fmt::format("expected a string, got {}", node_kind(item)));
            ok = false;
          } else if (auto problem = check_format(key, item.as_string()->get()); !problem.empty()) {
            report(item.source(), item_path, problem);
            ok = false;
          } else {
            items.push_back(item.as_string()->get());
          }
        }
        if (ok && key.min && static_cast<double>(items.size()) < *key.min) {
          report(node.source(), shown, fmt::format("needs at least {} item(s)", format_number(*key.min)));
          ok = false;
        }
        if (ok) store(std::move(items));
        return;
      }
    }
  }
};

std::expected<Values, Diagnostics> Schema::load_string(std::string_view text,
                                                       std::string_view name) const {
  Diagnostics diagnostics;
  // toml++ recurses per dotted part and per bracket: the shape is bounded before it parses.
  if (auto bounded = check_toml_bounds(text, kTomlBounds); !bounded) {
    diagnostics.push_back(Diagnostic{Position{std::string(name), 0, 0}, "", bounded.error().message});
    return std::unexpected(std::move(diagnostics));
  }
  toml::table doc;
  try {
    doc = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    diagnostics.push_back(Diagnostic{Position{std::string(name), static_cast<int>(b.line), static_cast<int>(b.column)},
                                     "", fmt::format("not valid TOML: {}", e.description())});
    return std::unexpected(std::move(diagnostics));
  }
  Validator validator{std::string(name), diagnostics};
  Values values = validator.table(doc, *this, "");
  if (!diagnostics.empty()) return std::unexpected(std::move(diagnostics));
  return values;
}

std::expected<Values, Diagnostics> Schema::load_file(const std::filesystem::path& file) const {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  if (!in || !std::filesystem::is_regular_file(file, ec)) {
    return std::unexpected(Diagnostics{Diagnostic{Position{file.string(), 0, 0}, "",
                                                  "cannot read: no such file, or not a regular file"}});
  }
  const auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kTomlBounds.max_bytes) {
    return std::unexpected(Diagnostics{Diagnostic{
        Position{file.string(), 0, 0}, "",
        fmt::format("{} bytes; a device or board file is at most {} bytes", size, kTomlBounds.max_bytes)}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), file.string());
}

}  // namespace assure::config
