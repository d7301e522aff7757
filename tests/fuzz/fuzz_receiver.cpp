// The control room's side: "topic\npayload" as it arrives from the broker, through the topic
// parser, the evidence desk (events, snapshots, manifests, chunks; state kept across inputs, as
// a receiver that runs for months keeps it) and both line formats.
#include <chrono>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>

#include "assure/firmware/evidence/signing.hpp"
#include "evidence_desk.hpp"
#include "format.hpp"
#include "assure/firmware/uplink/topics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  static const auto device = assure::evidence::SigningKey::generate();
  static assure::receiver::EvidenceDesk desk({}, {{"cam-01", device.public_hex()}},
                                             {.pending_bytes = 8u << 20, .device_pending_bytes = 4u << 20});
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string topic = input.substr(0, newline);
  const std::string payload = newline == std::string::npos ? std::string{} : input.substr(newline + 1);
  const assure::receiver::Arrival arrival{topic, payload, false, std::chrono::system_clock::now()};
  (void)assure::receiver::human_line("assure/v1", arrival);
  (void)assure::receiver::json_line("assure/v1", arrival);
  const auto parsed = assure::uplink::parse_topic("assure/v1", topic);
  if (!parsed) return 0;
  std::vector<assure::receiver::DeskNotice> notices;
  if (parsed->kind == "event") {
    (void)desk.event(parsed->site, parsed->device, payload, notices);
  } else if (parsed->kind == "snapshot") {
    (void)desk.snapshot(parsed->site, parsed->device, parsed->rest, payload);
  } else if (parsed->kind == "clip") {
    const auto slash = parsed->rest.find('/');
    const std::string clip = parsed->rest.substr(0, slash);
    const std::string what = slash == std::string::npos ? "" : parsed->rest.substr(slash + 1);
    if (what == "manifest") (void)desk.manifest(parsed->site, parsed->device, clip, payload);
    else if (what.starts_with("chunk/")) (void)desk.chunk(parsed->site, parsed->device, clip, what.substr(6), payload);
  }
  (void)assure::evidence::verify_manifest(payload, device.public_hex());
  return 0;
}
