#pragma once
// The commands a device obeys, as one Dispatcher table: ping, snapshot, resend_clip, arm, disarm,
// maintenance, outputs, config, echo, accept_view, hold, release, export. Each handler is one function over DeviceControl, the little the daemon
// lends its commands; the handlers hold no state of their own.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"
#include "assure/firmware/alarm/site.hpp"
#include "assure/firmware/dispatcher.hpp"

namespace assure::app {

class DeviceControl {
 public:
  virtual ~DeviceControl() = default;
  virtual alarm::Site& site() = 0;
  virtual alarm::Moment now() const = 0;
  // Logs, reports and switches what the site says happened.
  virtual void carry_out(const alarm::Happenings& happened) = 0;
  virtual nlohmann::json identity() const = 0;  // firmware, boot id, uptime
  // Why no picture can be taken now (the video is down, analysis is off); empty: one can.
  virtual std::string no_picture() const = 0;
  virtual void request_snapshot() = 0;  // the reply comes with the next analysed frame
  // The camera's view now becomes its tamper reference; a tamper in progress ends, accepted. The
  // reason it cannot (tamper detection off, no video), or empty.
  virtual std::string accept_view(std::string_view who) = 0;
  virtual Result<std::size_t> resend_clip(const std::string& clip) = 0;
  // A set of config changes through the engineer's commit path (the signed "config" command):
  // {"changes": [{"key","value"} | {"key","delete":true} | {"add": ARRAY}], "comment", "confirm_minutes"}.
  virtual Result<nlohmann::json> change_config(const nlohmann::json& args, std::string_view who) = 0;
  // The control room's answer to a link_test event; false: no engineer's "mqtt test" waits for it.
  virtual bool link_echo(const std::string& nonce) = 0;
  // Why holds, releases and exports cannot be taken (no continuous recording), or empty.
  virtual std::string no_evidence_store() const = 0;
};

Dispatcher device_commands(DeviceControl& device);

}  // namespace assure::app
