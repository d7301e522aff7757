#pragma once
// JSON from outside (MQTT payloads, files on disk) parsed only after its size, depth and string
// lengths are bounded (assure/base/input_bounds.hpp), and JSON written without ever throwing: a
// string that is not UTF-8 is replaced, not fatal. Every JSON the firmware and the control-room
// tools read from outside goes through parse_json.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"
#include "assure/base/input_bounds.hpp"

namespace assure::uplink {

// `what` names the input in the error ("command payload", "nonce file /var/...").
Result<nlohmann::json> parse_json(std::string_view text, std::string_view what, const InputBounds& bounds = {});

// dump() with invalid UTF-8 replaced (nlohmann throws on it by default).
std::string dump_json(const nlohmann::json& value);

}  // namespace assure::uplink
