#include "mqtt_packets.hpp"

namespace assure::control_room::mqtt {

std::uint8_t Reader::u8() {
  if (at + 1 > data.size()) return bad = true, 0;
  return static_cast<std::uint8_t>(data[at++]);
}

std::uint16_t Reader::u16() {
  const std::uint16_t hi = u8();
  return static_cast<std::uint16_t>(hi << 8 | u8());
}

std::uint32_t Reader::varint() {
  std::uint32_t value = 0;
  for (int shift = 0; shift < 28; shift += 7) {
    const std::uint8_t b = u8();
    value |= static_cast<std::uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return value;
  }
  bad = true;
  return 0;
}

std::string_view Reader::bytes(std::size_t n) {
  if (n > data.size() - std::min(at, data.size())) return bad = true, std::string_view{};
  auto out = data.substr(at, n);
  at += n;
  return out;
}

Framing take_packet(std::string& buffer, std::uint32_t maximum, Packet& out, std::uint32_t& length) {
  if (buffer.size() < 2) return Framing::incomplete;
  length = 0;
  std::size_t at = 1;
  for (int shift = 0; shift < 28; shift += 7, ++at) {
    if (at >= buffer.size()) return Framing::incomplete;
    const auto b = static_cast<std::uint8_t>(buffer[at]);
    length |= static_cast<std::uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      ++at;
      if (length > maximum) return Framing::too_large;
      if (buffer.size() - at < length) return Framing::incomplete;
      const auto first = static_cast<std::uint8_t>(buffer[0]);
      out.type = first >> 4;
      out.flags = first & 0x0f;
      out.body = buffer.substr(at, length);
      buffer.erase(0, at + length);
      return Framing::whole;
    }
  }
  return Framing::malformed;
}

std::optional<Inbound> parse_publish(const Packet& p) {
  Reader r{p.body};
  Inbound in;
  in.qos = (p.flags >> 1) & 3;
  in.retained = (p.flags & 1) != 0;
  in.duplicate = (p.flags & 8) != 0;
  in.topic = std::string(r.string());
  if (in.qos > 0) in.packet_id = r.u16();
  r.skip_properties();
  if (r.bad || in.qos > 1 || (in.qos == 1 && in.packet_id == 0)) return std::nullopt;
  in.payload = std::string(p.body.substr(r.at));
  return in;
}

}  // namespace assure::control_room::mqtt
