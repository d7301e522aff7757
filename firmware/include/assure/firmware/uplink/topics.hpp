#pragma once
// The topic scheme, one place for both ends: <prefix>/<site>/<device>/<kind>[/<rest>].
// See firmware/uplink/PROTOCOL.md.

#include <optional>
#include <string>
#include <string_view>

namespace assure::uplink {

class Topics {
 public:
  Topics(std::string prefix, std::string site, std::string device);
  std::string base() const;  // <prefix>/<site>/<device>
  const std::string& prefix() const { return prefix_; }
  std::string status() const { return base() + "/status"; }
  std::string heartbeat() const { return base() + "/heartbeat"; }
  std::string event() const { return base() + "/event"; }
  std::string snapshot(std::string_view event_id) const { return base() + "/snapshot/" + std::string(event_id); }
  std::string clip_manifest(std::string_view clip) const { return base() + "/clip/" + std::string(clip) + "/manifest"; }
  std::string clip_chunk(std::string_view clip, std::size_t n) const {
    return base() + "/clip/" + std::string(clip) + "/chunk/" + std::to_string(n);
  }
  std::string commands() const { return base() + "/cmd/+"; }  // the subscription
  std::string reply() const { return base() + "/reply"; }

 private:
  std::string prefix_, site_, device_;
};

struct ParsedTopic {
  std::string site;
  std::string device;
  std::string kind;  // status, heartbeat, event, ...
  std::string rest;  // after the kind, e.g. the event id of snapshot/<id>; may be empty
};

// Splits a topic of the scheme; nullopt when it is not one (another prefix, too few levels).
std::optional<ParsedTopic> parse_topic(std::string_view prefix, std::string_view topic);

// A subscription filter for a fleet: everything, one site, or one device.
std::string fleet_filter(std::string_view prefix, std::string_view site = "+", std::string_view device = "+");

}  // namespace assure::uplink
