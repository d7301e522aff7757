#pragma once
// A configuration schema: every key declared once with its type, default, bounds or choices, unit
// and one line of help. Validation, error messages, the generated reference (assure-config
// reference) and later the engineer shell's completion all read the same declarations.

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace assure::config {

enum class Type { string, integer, number, boolean, string_list };
// Extra checks on strings (and on each item of a string list).
enum class Format {
  any,
  identifier,  // lower-case letters, digits, '-' and '_': safe as an MQTT topic level and a file name
  broker_uri,  // tcp://, ssl://, mqtt://, mqtts://, ws:// or wss:// with host and port
  path,        // a file path; a relative one is taken from the folder of the file that names it
  polygon,     // "x,y x,y x,y ...": at least 3 points in normalised picture coordinates 0..1
};

using Value = std::variant<std::monostate, std::string, std::int64_t, double, bool,
                           std::vector<std::string>>;

struct Key {
  std::string path;  // dotted, e.g. "mqtt.keepalive"
  Type type = Type::string;
  Value fallback;     // the default; std::monostate when there is none
  bool required = false;
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> choices;
  Format format = Format::any;
  std::string unit;  // "s", "ms", "px", "fps": empty when none
  std::string help;  // one line
};

struct Position {
  std::string file;
  int line = 0;
  int column = 0;
};

// One problem with a file: compiler-style, "file:line:column: key.path: message".
struct Diagnostic {
  Position where;
  std::string path;
  std::string message;
  std::string to_string() const;
};
using Diagnostics = std::vector<Diagnostic>;
std::string to_string(const Diagnostics& diagnostics);

class Schema;

// Validated values of one table, defaults filled in. Reading a path the schema does not declare,
// or with the wrong type, is a bug in the caller and throws std::logic_error.
class Values {
 public:
  bool has(std::string_view path) const;  // set in the file or by a default
  bool set_in_file(std::string_view path) const;
  const std::string& string(std::string_view path) const;
  std::int64_t integer(std::string_view path) const;
  double number(std::string_view path) const;
  bool boolean(std::string_view path) const;
  const std::vector<std::string>& strings(std::string_view path) const;
  const std::vector<Values>& tables(std::string_view path) const;  // a [[table array]]
  // Where a key was set, or where its table starts when it came from a default.
  Position where(std::string_view path) const;
  Position where() const { return table_position_; }

 private:
  friend class Schema;
  friend struct Validator;
  struct Entry {
    Value value;
    Position where;
    bool from_file = false;
  };
  const Value& value(std::string_view path) const;

  std::map<std::string, Entry, std::less<>> entries_;
  std::map<std::string, std::vector<Values>, std::less<>> tables_;
  Position table_position_;
};

using Rule = std::function<void(const Values&, Diagnostics&)>;

struct TableArray {
  std::string path;
  std::string help;
  std::shared_ptr<const Schema> element;
  std::size_t max_items = 64;
};

class Schema {
 public:
  Schema& add(Key key);
  Schema& add_array(std::string path, std::string help, Schema element, std::size_t max_items = 64);
  // A rule across keys (one of two keys set, a maximum above a minimum); it adds diagnostics.
  Schema& rule(Rule check);

  const std::vector<Key>& keys() const { return keys_; }
  const std::vector<TableArray>& arrays() const { return arrays_; }
  const Key* find(std::string_view path) const;
  const TableArray* find_array(std::string_view path) const;

  // Parses and validates; every problem found is reported, not only the first.
  std::expected<Values, Diagnostics> load_file(const std::filesystem::path& file) const;
  std::expected<Values, Diagnostics> load_string(std::string_view text, std::string_view name) const;

 private:
  friend struct Validator;
  std::vector<Key> keys_;
  std::vector<TableArray> arrays_;
  std::vector<Rule> rules_;
};

// The reference for people: one Markdown table per schema, generated, never written by hand.
std::string reference_markdown(const Schema& schema, std::string_view title, std::string_view intro);
std::string describe_type(const Key& key);
std::string describe_default(const Key& key);
std::string describe_allowed(const Key& key);

}  // namespace assure::config
