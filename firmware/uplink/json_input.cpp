#include "assure/firmware/uplink/json_input.hpp"

#include <fmt/format.h>

namespace assure::uplink {

Result<nlohmann::json> parse_json(std::string_view text, std::string_view what, const InputBounds& bounds) {
  if (auto bounded = check_json_bounds(text, bounds); !bounded) {
    return fail(Errc::parse, fmt::format("{}: {}", what, bounded.error().message));
  }
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(Errc::parse, fmt::format("{}: not JSON", what));
  return j;
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace assure::uplink
