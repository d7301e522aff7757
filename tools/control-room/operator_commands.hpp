#pragma once
// The commands an operator may send from the console, checked before the service signs them with
// the control room's key (which never leaves the service). Pure: a request and a role in, the
// command's name and arguments (or why not) out. The device checks everything again.
//
//   ping, snapshot, resend_clip {clip}, outputs {output, state, seconds}     operator
//   arm {mode}, disarm, maintenance {on}                                      supervisor only

#include <string>

#include <nlohmann/json.hpp>

#include "accounts.hpp"
#include "assure/base/error.hpp"

namespace assure::control_room {

struct OperatorCommand {
  std::string site, device, name;
  nlohmann::json args = nlohmann::json::object();
};

// request: {"site","device","name","args":{...}} from the console.
Result<OperatorCommand> check_command(const nlohmann::json& request, Role role);

}  // namespace assure::control_room
