// The control room's intake: bytes as a broker (or anyone between) might send them, framed into
// packets and PUBLISHes taken apart, as its session does, with a small announced maximum so the
// too-large path is reached too.
#include <cstdint>
#include <string>

#include "mqtt_packets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace assure::control_room::mqtt;
  std::string buffer(reinterpret_cast<const char*>(data), size);
  for (int packets = 0; packets < 1000; ++packets) {
    Packet p;
    std::uint32_t length = 0;
    const Framing f = take_packet(buffer, 1u << 16, p, length);
    if (f != Framing::whole) break;
    if (p.type == 3) {
      if (auto in = parse_publish(p); in && in->payload.size() > p.body.size()) __builtin_trap();
    } else {
      Reader r{p.body};
      (void)r.u8();
      (void)r.u8();
      r.skip_properties();
      while (!r.bad && r.at < r.data.size()) (void)r.u8();
    }
  }
  return 0;
}
