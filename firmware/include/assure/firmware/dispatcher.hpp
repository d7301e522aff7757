#pragma once
// One table of the commands a device obeys: each name with its arguments' schema and one handler.
// The control room's signed MQTT commands come through it, and so will the engineer's shell: an
// unknown command or a bad argument is answered here, in the same words, whoever asked.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"

namespace assure::app {

// One argument: its JSON type, whether it must be given, and what values it may take.
struct Arg {
  enum class Type { string, boolean, integer, array };
  std::string name;
  Type type = Type::string;
  bool required = false;
  std::vector<std::string> one_of;      // a string's allowed words; empty: any
  std::int64_t min = 0, max = 0;        // an integer's range, when max > min
  nlohmann::json fallback = nullptr;    // filled in when not given; null: left out
};

// What a command came to: done (with a result), refused (with the reason), or answered later (a
// snapshot waits for the next analysed frame).
struct Reply {
  bool ok = false;
  std::string error;
  nlohmann::json result = nullptr;
  bool later = false;

  static Reply done(nlohmann::json result = nullptr) { return {true, {}, std::move(result), false}; }
  static Reply refused(std::string why, nlohmann::json result = nullptr) {
    return {false, std::move(why), std::move(result), false};
  }
  static Reply pending() { return {true, {}, nullptr, true}; }
};

// args: checked against the schema, fallbacks filled in. who: "control-room", "keyfob:...", or
// the engineer's name.
using Handler = std::function<Reply(const nlohmann::json& args, std::string_view who)>;

struct CommandSpec {
  std::string name;
  std::string summary;  // one line, for the shell's help
  std::vector<Arg> args;
  Handler handler;
};

class Dispatcher {
 public:
  void add(CommandSpec spec);
  // The command's handler with its checked arguments, or the refusal of an unknown command or a
  // bad argument. A handler's own exception is answered as a refusal too, never passed on.
  Reply dispatch(std::string_view name, const nlohmann::json& args, std::string_view who) const;
  const CommandSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::vector<CommandSpec> commands_;
};

// The arguments with fallbacks filled in, or what is wrong with them ("\"mode\" must be one of
// \"away\", \"home\", not \"sideways\""). Arguments the schema does not name are refused.
Result<nlohmann::json> check_args(const CommandSpec& spec, const nlohmann::json& args);

}  // namespace assure::app
