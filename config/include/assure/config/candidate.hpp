#pragma once
// A candidate device configuration, as on network equipment: the running file's values, changed
// key by key (`set`, `delete`, array elements added), each value checked against the schema as it
// is typed, then validated whole by the same loader the daemon uses before it may be committed.
//
// Keys are the schema's dotted paths; elements of table arrays are indexed:
//   motion.sensitivity    light[0].hold    alarm.zone[2].type    privacy.mask[1]
// Values are written as in the file ("90", "true", "\"tcp://h:1883\"" or a bare word, a list as
// ["a", "b"] or a,b). Comments in the file do not survive a change: the candidate is rewritten
// from its values (every revision keeps its whole text).

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"
#include "assure/config/device_config.hpp"

namespace assure::config {

struct Change {
  std::string key;
  std::string before, after;  // as TOML; empty: not set
  bool secret = false;        // a password: its values are never shown
};

class Candidate {
 public:
  // The running file's text; `name` and `base_dir` as for parse_device_config.
  static Result<Candidate> from_text(std::string_view text, std::string name, std::filesystem::path base_dir);
  Candidate(const Candidate& other);
  Candidate& operator=(const Candidate& other);
  Candidate(Candidate&&) noexcept;
  Candidate& operator=(Candidate&&) noexcept;
  ~Candidate();

  std::string text() const;  // the candidate as a TOML file
  // One key's value as TOML, or the whole file for "". A key the schema declares but the file
  // leaves out shows its default, marked as such.
  Result<std::string> show(std::string_view key) const;
  Result<void> set(std::string_view key, std::string_view value);
  Result<void> erase(std::string_view key);  // a key (back to its default) or a whole element
  // A new element at the end of a table array ("light"); returns its index.
  Result<std::size_t> append(std::string_view array);
  // The whole candidate through the loader: empty when it would be accepted.
  Diagnostics validate() const;
  Result<DeviceConfig> load() const;

  // Every key whose value differs, in key order.
  std::vector<Change> diff_from(const Candidate& before) const;

  // The keys (and table arrays) the schema declares, for completion and "did you mean".
  static std::vector<std::string> known_keys();

 private:
  struct Doc;
  explicit Candidate(std::unique_ptr<Doc> doc);
  std::unique_ptr<Doc> doc_;
};

// One line of help for a key, from the schema: "motion.sensitivity: integer, 1 to 10, default 5: ...".
Result<std::string> key_help(std::string_view key);

// The known word nearest to `word` (edit distance at most a third of its length), or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& known);
bool is_secret_key(std::string_view key);

}  // namespace assure::config
