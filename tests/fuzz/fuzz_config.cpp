// Device and board files: the TOML bounds, toml++ and the schema checks, on any bytes.
#include <cstdint>
#include <string_view>

#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)assure::config::parse_device_config(text, "device.toml", "/etc/assure");
  (void)assure::config::board_schema().load_string(text, "board.toml");
  return 0;
}
