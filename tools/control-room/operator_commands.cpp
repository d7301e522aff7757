#include "operator_commands.hpp"

#include "assure/base/input_bounds.hpp"

namespace assure::control_room {
namespace {

using nlohmann::json;

Result<OperatorCommand> refuse(std::string why) { return fail(Errc::invalid_argument, std::move(why)); }

std::string text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

Result<OperatorCommand> check_command(const json& request, Role role) {
  if (!request.is_object()) return refuse("a command is a JSON object");
  OperatorCommand c{text(request, "site"), text(request, "device"), text(request, "name")};
  if (!plain_name(c.site) || !plain_name(c.device)) return refuse("site and device must be plain names");
  const json args = request.contains("args") ? request["args"] : json::object();
  if (!args.is_object()) return refuse("args must be an object");
  const bool supervisor_only = c.name == "arm" || c.name == "disarm" || c.name == "maintenance";
  if (supervisor_only && role != Role::supervisor) return fail(Errc::invalid_argument, "only a supervisor may send " + c.name);
  auto only = [&](std::initializer_list<const char*> allowed) -> bool {
    for (const auto& [key, value] : args.items()) {
      bool known = false;
      for (const char* a : allowed) known = known || key == a;
      if (!known) return false;
    }
    return true;
  };
  if (c.name == "ping" || c.name == "snapshot" || c.name == "disarm") {
    if (!only({})) return refuse(c.name + " takes no arguments");
  } else if (c.name == "arm") {
    const std::string mode = args.contains("mode") ? text(args, "mode") : "away";
    if (!only({"mode"}) || (mode != "away" && mode != "home")) return refuse("arm takes mode away or home");
    c.args = {{"mode", mode}};
  } else if (c.name == "maintenance") {
    if (!only({"on"}) || !args.contains("on") || !args["on"].is_boolean()) return refuse("maintenance takes on: true or false");
    c.args = {{"on", args["on"].get<bool>()}};
  } else if (c.name == "resend_clip") {
    const std::string clip = text(args, "clip");
    if (!only({"clip"}) || !plain_name(clip)) return refuse("resend_clip takes clip: a clip id");
    c.args = {{"clip", clip}};
  } else if (c.name == "outputs") {
    const std::string output = text(args, "output"), state = text(args, "state");
    if (!only({"output", "state", "seconds"}) || !plain_name(output) ||
        (state != "on" && state != "off" && state != "auto")) {
      return refuse("outputs takes output (a name), state (on, off or auto) and seconds");
    }
    c.args = {{"output", output}, {"state", state}};
    if (args.contains("seconds")) {
      if (!args["seconds"].is_number_integer() || args["seconds"].get<std::int64_t>() < 1 ||
          args["seconds"].get<std::int64_t>() > 86400) {
        return refuse("seconds is 1 to 86400");
      }
      c.args["seconds"] = args["seconds"];
    }
  } else {
    return refuse("the console does not send '" + excerpt(c.name) + "'");
  }
  return c;
}

}  // namespace assure::control_room
