#include "assure/config/candidate.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include "assure/base/input_bounds.hpp"

namespace assure::config {

struct Candidate::Doc {
  toml::table table;
  std::string name;
  std::filesystem::path base_dir;
};

namespace {

constexpr InputBounds kBounds{.max_bytes = 1u << 20, .max_depth = 16, .max_string = 64u << 10};
constexpr std::size_t kMaxValue = 4096;

// "alarm.zone[2].type" -> {alarm}{zone,2}{type}
struct Part {
  std::string name;
  std::optional<std::size_t> index;
};

Result<std::vector<Part>> split(std::string_view key) {
  if (key.empty() || key.size() > 200) return fail(Errc::invalid_argument, "a key is 1 to 200 characters");
  std::vector<Part> parts;
  std::size_t at = 0;
  while (at <= key.size()) {
    const std::size_t dot = std::min(key.find('.', at), key.size());
    std::string_view seg = key.substr(at, dot - at);
    Part part;
    if (const auto open = seg.find('['); open != std::string_view::npos) {
      if (!seg.ends_with(']')) return fail(Errc::invalid_argument, fmt::format("'{}': an index is [N]", excerpt(key)));
      const auto digits = seg.substr(open + 1, seg.size() - open - 2);
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || n > 1000) {
        return fail(Errc::invalid_argument, fmt::format("'{}': an index is a number from 0", excerpt(key)));
      }
      part.index = n;
      seg = seg.substr(0, open);
    }
    const bool plain = !seg.empty() && std::all_of(seg.begin(), seg.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain) return fail(Errc::invalid_argument, fmt::format("'{}' is not a key like motion.sensitivity", excerpt(key)));
    part.name = std::string(seg);
    parts.push_back(std::move(part));
    at = dot + 1;
  }
  return parts;
}

// Where a key's declaration is: the schema's key, and the array it is inside (if any).
struct Declared {
  const Key* key = nullptr;
  const TableArray* array = nullptr;  // set for array elements (key may then be null: the whole element)
  std::size_t array_parts = 0;        // how many parts name the array (with the index on the last)
};

Result<Declared> declared(const std::vector<Part>& parts, std::string_view key) {
  const Schema& schema = device_schema();
  std::string path;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    path += (i ? "." : "") + parts[i].name;
    if (!parts[i].index) continue;
    const TableArray* array = schema.find_array(path);
    if (array == nullptr) return fail(Errc::invalid_argument, fmt::format("'{}' is not a table array", path));
    std::string rest;
    for (std::size_t j = i + 1; j < parts.size(); ++j) {
      if (parts[j].index) return fail(Errc::invalid_argument, fmt::format("'{}': arrays do not nest", excerpt(key)));
      rest += (rest.empty() ? "" : ".") + parts[j].name;
    }
    Declared d{nullptr, array, i + 1};
    if (rest.empty()) return d;
    d.key = array->element->find(rest);
    if (d.key == nullptr) {
      std::vector<std::string> names;
      for (const auto& k : array->element->keys()) names.push_back(k.path);
      const auto near = did_you_mean(rest, names);
      return fail(Errc::invalid_argument, fmt::format("{}: not a key of {}{}", excerpt(key), path,
                                                      near.empty() ? "" : " (did you mean " + near + "?)"));
    }
    return d;
  }
  if (const Key* k = schema.find(path)) return Declared{k, nullptr, 0};
  if (schema.find_array(path) != nullptr) {
    return fail(Errc::invalid_argument, fmt::format("{} is a table array: name an element, e.g. {}[0]", path, path));
  }
  const auto near = did_you_mean(path, Candidate::known_keys());
  return fail(Errc::invalid_argument,
              fmt::format("{}: unknown key{}", excerpt(key), near.empty() ? "" : " (did you mean " + near + "?)"));
}

Result<void> in_range(const Key& key, double v, std::string_view text) {
  if ((key.min && v < *key.min) || (key.max && v > *key.max)) {
    return fail(Errc::invalid_argument, fmt::format("{}: {} is out of range ({})", key.path, excerpt(text), describe_allowed(key)));
  }
  return {};
}

std::string unquote(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') return std::string(text.substr(1, text.size() - 2));
  return std::string(text);
}

// The value typed for a key, as the schema's type wants it, checked as far as one key can be.
Result<std::unique_ptr<toml::node>> typed(const Key& key, std::string_view text) {
  if (text.size() > kMaxValue) return fail(Errc::invalid_argument, fmt::format("{}: a value is at most {} bytes", key.path, kMaxValue));
  switch (key.type) {
    case Type::integer: {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return fail(Errc::invalid_argument, fmt::format("{}: '{}' is not a whole number", key.path, excerpt(text)));
      }
      if (auto ok = in_range(key, static_cast<double>(v), text); !ok) return std::unexpected(ok.error());
      return std::make_unique<toml::value<std::int64_t>>(v);
    }
    case Type::number: {
      double v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) {
        return fail(Errc::invalid_argument, fmt::format("{}: '{}' is not a number", key.path, excerpt(text)));
      }
      if (auto ok = in_range(key, v, text); !ok) return std::unexpected(ok.error());
      return std::make_unique<toml::value<double>>(v);
    }
    case Type::boolean:
      if (text == "true") return std::make_unique<toml::value<bool>>(true);
      if (text == "false") return std::make_unique<toml::value<bool>>(false);
      return fail(Errc::invalid_argument, fmt::format("{}: '{}' is not true or false", key.path, excerpt(text)));
    case Type::string: {
      std::string v = unquote(text);
      if (!key.choices.empty() && std::find(key.choices.begin(), key.choices.end(), v) == key.choices.end()) {
        const auto near = did_you_mean(v, key.choices);
        return fail(Errc::invalid_argument, fmt::format("{}: '{}' is not one of {}{}", key.path, excerpt(v),
                                                        describe_allowed(key), near.empty() ? "" : " (did you mean " + near + "?)"));
      }
      return std::make_unique<toml::value<std::string>>(std::move(v));
    }
    case Type::string_list: {
      auto list = std::make_unique<toml::array>();
      if (text.starts_with('[')) {
        toml::table parsed;
        try {
          parsed = toml::parse(fmt::format("v = {}", text));
        } catch (const toml::parse_error& e) {
          return fail(Errc::invalid_argument, fmt::format("{}: not a list: {}", key.path, e.description()));
        }
        const toml::array* items = parsed["v"].as_array();
        if (items == nullptr) return fail(Errc::invalid_argument, fmt::format("{}: not a list", key.path));
        for (const auto& item : *items) {
          if (!item.is_string()) return fail(Errc::invalid_argument, fmt::format("{}: every item is a string", key.path));
          list->push_back(*item.value<std::string>());
        }
      } else {
        std::stringstream words{std::string(text)};
        for (std::string w; std::getline(words, w, ',');) {
          w.erase(0, w.find_first_not_of(' '));
          w.erase(w.find_last_not_of(' ') + 1);
          if (!w.empty()) list->push_back(unquote(w));
        }
      }
      return std::unique_ptr<toml::node>(std::move(list));
    }
  }
  return fail(Errc::invalid_argument, key.path);
}

std::string as_toml(const toml::node& node) {
  std::ostringstream out;
  node.visit([&](const auto& n) { out << toml::toml_formatter(n, toml::format_flags::none); });
  return out.str();
}

// Every leaf as "path = value", array elements indexed.
void flatten(const toml::table& table, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [k, node] : table) {
    const std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* t = node.as_table()) {
      flatten(*t, path, out);
    } else if (const auto* a = node.as_array(); a != nullptr && a->is_array_of_tables()) {
      for (std::size_t i = 0; i < a->size(); ++i) flatten(*(*a)[i].as_table(), fmt::format("{}[{}]", path, i), out);
    } else {
      out[path] = as_toml(node);
    }
  }
}

}  // namespace

Candidate::Candidate(std::unique_ptr<Doc> doc) : doc_(std::move(doc)) {}
Candidate::Candidate(const Candidate& other) : doc_(std::make_unique<Doc>(*other.doc_)) {}
Candidate& Candidate::operator=(const Candidate& other) {
  if (this != &other) doc_ = std::make_unique<Doc>(*other.doc_);
  return *this;
}
Candidate::Candidate(Candidate&&) noexcept = default;
Candidate& Candidate::operator=(Candidate&&) noexcept = default;
Candidate::~Candidate() = default;

Result<Candidate> Candidate::from_text(std::string_view text, std::string name, std::filesystem::path base_dir) {
  if (auto bounded = check_toml_bounds(text, kBounds); !bounded) return std::unexpected(bounded.error());
  auto doc = std::make_unique<Doc>();
  try {
    doc->table = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return fail(Errc::invalid_argument, fmt::format("{}:{}:{}: not valid TOML: {}", name, e.source().begin.line,
                                                    e.source().begin.column, e.description()));
  }
  doc->name = std::move(name);
  doc->base_dir = std::move(base_dir);
  return Candidate(std::move(doc));
}

std::string Candidate::text() const {
  std::ostringstream out;
  out << toml::toml_formatter(doc_->table) << "\n";
  return out.str();
}

Result<std::string> Candidate::show(std::string_view key) const {
  if (key.empty()) return text();
  auto parts = split(key);
  if (!parts) return std::unexpected(parts.error());
  auto decl = declared(*parts, key);
  if (!decl) return std::unexpected(decl.error());
  const toml::node* node = &doc_->table;
  for (const auto& part : *parts) {
    const toml::table* t = node->as_table();
    node = t == nullptr ? nullptr : t->get(part.name);
    if (node != nullptr && part.index) {
      const toml::array* a = node->as_array();
      node = a == nullptr || *part.index >= a->size() ? nullptr : a->get(*part.index);
    }
    if (node == nullptr) break;
  }
  if (node != nullptr) return is_secret_key(key) ? std::string("(secret, set)") : as_toml(*node);
  if (decl->key == nullptr) return fail(Errc::not_found, fmt::format("{}: no such element", key));
  return describe_default(*decl->key) + " (default)";
}

Result<void> Candidate::set(std::string_view key, std::string_view value) {
  auto parts = split(key);
  if (!parts) return std::unexpected(parts.error());
  auto decl = declared(*parts, key);
  if (!decl) return std::unexpected(decl.error());
  if (decl->key == nullptr) return fail(Errc::invalid_argument, fmt::format("{}: name a key of the element", key));
  auto node = typed(*decl->key, value);
  if (!node) return std::unexpected(node.error());
  toml::table* table = &doc_->table;
  for (std::size_t i = 0; i + 1 < parts->size(); ++i) {
    const Part& part = (*parts)[i];
    if (!part.index) {
      auto [it, made] = table->emplace<toml::table>(part.name);
      table = it->second.as_table();
      if (table == nullptr) return fail(Errc::invalid_argument, fmt::format("{} is not a table in the file", part.name));
      continue;
    }
    toml::array* array = table->get_as<toml::array>(part.name);
    if (array == nullptr || *part.index >= array->size()) {
      return fail(Errc::not_found, fmt::format("{}[{}]: no such element (add one first)", part.name, *part.index));
    }
    table = array->get_as<toml::table>(*part.index);
    if (table == nullptr) return fail(Errc::invalid_argument, fmt::format("{}[{}] is not a table", part.name, *part.index));
  }
  (*node)->visit([&](auto& n) { table->insert_or_assign(parts->back().name, std::move(n)); });
  return {};
}

Result<void> Candidate::erase(std::string_view key) {
  auto parts = split(key);
  if (!parts) return std::unexpected(parts.error());
  if (auto decl = declared(*parts, key); !decl) return std::unexpected(decl.error());
  toml::table* table = &doc_->table;
  for (std::size_t i = 0; i < parts->size(); ++i) {
    const Part& part = (*parts)[i];
    const bool last = i + 1 == parts->size();
    if (!part.index) {
      if (last) {
        if (table->erase(part.name) == 0) return fail(Errc::not_found, fmt::format("{} is not set", key));
        return {};
      }
      table = table->get_as<toml::table>(part.name);
    } else {
      toml::array* array = table->get_as<toml::array>(part.name);
      if (array == nullptr || *part.index >= array->size()) {
        return fail(Errc::not_found, fmt::format("{}[{}]: no such element", part.name, *part.index));
      }
      if (last) {
        array->erase(array->begin() + static_cast<std::ptrdiff_t>(*part.index));
        if (array->empty()) table->erase(part.name);  // as if it had never been added
        return {};
      }
      table = array->get_as<toml::table>(*part.index);
    }
    if (table == nullptr) return fail(Errc::not_found, fmt::format("{} is not set", key));
  }
  return {};
}

Result<std::size_t> Candidate::append(std::string_view array_path) {
  const TableArray* declared_array = device_schema().find_array(array_path);
  if (declared_array == nullptr) {
    std::vector<std::string> arrays;
    for (const auto& a : device_schema().arrays()) arrays.push_back(a.path);
    const auto near = did_you_mean(array_path, arrays);
    return fail(Errc::invalid_argument, fmt::format("{}: not a table array{}", excerpt(array_path),
                                                    near.empty() ? "" : " (did you mean " + near + "?)"));
  }
  auto parts = split(array_path);
  if (!parts) return std::unexpected(parts.error());
  toml::table* table = &doc_->table;
  for (std::size_t i = 0; i + 1 < parts->size(); ++i) {
    auto [it, made] = table->emplace<toml::table>((*parts)[i].name);
    table = it->second.as_table();
    if (table == nullptr) return fail(Errc::invalid_argument, fmt::format("{} is not a table", (*parts)[i].name));
  }
  auto [it, made] = table->emplace<toml::array>(parts->back().name);
  toml::array* array = it->second.as_array();
  if (array == nullptr) return fail(Errc::invalid_argument, fmt::format("{} is not an array", array_path));
  if (array->size() >= declared_array->max_items) {
    return fail(Errc::invalid_argument, fmt::format("{} holds at most {}", array_path, declared_array->max_items));
  }
  array->push_back(toml::table{});
  return array->size() - 1;
}

Diagnostics Candidate::validate() const {
  auto parsed = parse_device_config(text(), doc_->name, doc_->base_dir);
  return parsed ? Diagnostics{} : parsed.error();
}

Result<DeviceConfig> Candidate::load() const {
  auto parsed = parse_device_config(text(), doc_->name, doc_->base_dir);
  if (!parsed) return fail(Errc::invalid_argument, to_string(parsed.error()));
  return std::move(*parsed);
}

std::vector<Change> Candidate::diff_from(const Candidate& before) const {
  std::map<std::string, std::string> was, now;
  flatten(before.doc_->table, "", was);
  flatten(doc_->table, "", now);
  std::vector<Change> changes;
  auto add = [&](const std::string& key, std::string b, std::string a) {
    const bool secret = is_secret_key(key);
    changes.push_back({key, secret && !b.empty() ? "(secret)" : std::move(b), secret && !a.empty() ? "(secret)" : std::move(a), secret});
  };
  for (const auto& [key, value] : now) {
    auto old = was.find(key);
    if (old == was.end()) add(key, "", value);
    else if (old->second != value) add(key, old->second, value);
  }
  for (const auto& [key, value] : was) {
    if (!now.contains(key)) add(key, value, "");
  }
  std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) { return a.key < b.key; });
  return changes;
}

std::vector<std::string> Candidate::known_keys() {
  std::vector<std::string> keys;
  for (const auto& k : device_schema().keys()) keys.push_back(k.path);
  for (const auto& a : device_schema().arrays()) {
    keys.push_back(a.path);
    for (const auto& k : a.element->keys()) keys.push_back(a.path + "[]." + k.path);
  }
  return keys;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& known) {
  // Optimal string alignment: insertions, deletions, substitutions and swaps of two neighbours.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
    return d[a.size()][b.size()];
  };
  if (word.size() > 200) return "";
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& k : known) {
    if (k.size() > 200) continue;
    const auto d = distance(word, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

Result<std::string> key_help(std::string_view key) {
  auto parts = split(key);
  if (!parts) return std::unexpected(parts.error());
  auto decl = declared(*parts, key);
  if (!decl) return std::unexpected(decl.error());
  if (decl->key == nullptr) return fmt::format("{}: {}", key, decl->array->help);
  const Key& k = *decl->key;
  std::string allowed = describe_allowed(k);
  return fmt::format("{}: {}{}, default {}{}: {}", key, describe_type(k), allowed.empty() ? "" : " (" + allowed + ")",
                     describe_default(k), k.unit.empty() ? "" : " " + k.unit, k.help);
}

bool is_secret_key(std::string_view key) { return key.ends_with("password"); }

}  // namespace assure::config
