#pragma once
// MQTT 5 packets as the broker sends them, taken apart without trusting a byte: pure functions of
// a buffer, for the intake's session (mqtt_session.*) and its fuzz target. Lengths are checked
// against what is there before anything is read.

#include <cstdint>
#include <optional>
#include <string>

namespace assure::control_room {

struct Inbound {
  std::string topic;
  std::string payload;
  bool retained = false;
  bool duplicate = false;  // the broker sent it before and had no acknowledgement
  int qos = 0;
  std::uint16_t packet_id = 0;  // for ack(); 0 for QoS 0
};

namespace mqtt {

struct Packet {
  std::uint8_t type = 0, flags = 0;
  std::string body;
};

enum class Framing { incomplete, whole, malformed, too_large };
// One whole packet off the front of `buffer` into `out` (whole), or why not: not all here yet,
// a remaining length of more than four bytes, or one past `maximum` (`length` says how long).
Framing take_packet(std::string& buffer, std::uint32_t maximum, Packet& out, std::uint32_t& length);

// A PUBLISH's topic, flags, packet id and payload (its properties skipped); nullopt when it is
// malformed (truncated, QoS 3, QoS 2 which we never subscribe with, QoS 1 with packet id 0).
std::optional<Inbound> parse_publish(const Packet& packet);

// The first byte (reason code) of a CONNACK or the reason codes of a SUBACK, for the session.
struct Reader {
  std::string_view data;
  std::size_t at = 0;
  bool bad = false;
  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t varint();
  std::string_view bytes(std::size_t n);
  std::string_view string() { return bytes(u16()); }
  void skip_properties() { bytes(varint()); }
};

}  // namespace mqtt
}  // namespace assure::control_room
