#pragma once
// The control room's half of an engineer's "mqtt test": a device's link_test event is answered with
// the signed echo command carrying its nonce, so the engineer sees the whole round trip (device,
// broker, control room, broker, device). Pure: the event in, the message to publish out.

#include <chrono>
#include <optional>
#include <string>

#include "assure/firmware/evidence/signing.hpp"

namespace assure::receiver {

struct Echo {
  std::string topic;    // <prefix>/<site>/<device>/cmd/echo
  std::string payload;  // the signed command
  std::string who;      // the engineer who asked, as the event says
};

// Nothing for another event type, or for a link_test whose nonce is missing or malformed.
std::optional<Echo> answer_link_test(const std::string& prefix, const std::string& site, const std::string& device,
                                     const std::string& event_payload, const evidence::SigningKey& key,
                                     std::chrono::system_clock::time_point now);

}  // namespace assure::receiver
