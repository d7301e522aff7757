#include "link_answer.hpp"

#include <algorithm>
#include <cctype>

#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/topics.hpp"

namespace assure::receiver {
namespace {

bool plain_nonce(const std::string& nonce) {
  return nonce.size() >= 16 && nonce.size() <= 64 && std::all_of(nonce.begin(), nonce.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '-' || c == '_';
         });
}

}  // namespace

std::optional<Echo> answer_link_test(const std::string& prefix, const std::string& site, const std::string& device,
                                     const std::string& event_payload, const evidence::SigningKey& key,
                                     std::chrono::system_clock::time_point now) {
  const auto event = uplink::parse_event(event_payload);
  if (!event || event->type != "link_test" || !event->details.is_object()) return std::nullopt;
  const auto& details = event->details;
  if (!details.contains("nonce") || !details["nonce"].is_string()) return std::nullopt;
  const std::string nonce = details["nonce"];
  if (!plain_nonce(nonce)) return std::nullopt;
  const std::string who = details.contains("who") && details["who"].is_string() ? details["who"].get<std::string>() : "";
  const uplink::Topics topics(prefix, site, device);
  return Echo{topics.base() + "/cmd/echo",
              uplink::sign_command(key, "echo", site, device, now, uplink::new_nonce(), {{"test", nonce}}), who};
}

}  // namespace assure::receiver
