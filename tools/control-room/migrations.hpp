#pragma once
// The schema's history: versioned migrations, applied in order by migrate() (database.hpp) and
// never edited once released; a change to the schema is a new migration at the end.

#include <string>
#include <vector>

#include "database.hpp"

namespace assure::control_room {

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> sql;  // "{id}" becomes the engine's auto-numbered key
  std::vector<std::string> statements(Engine engine) const;
};

const std::vector<Migration>& migrations();

std::string now_text();    // UTC, ISO 8601 with milliseconds: sorts as time does
std::int64_t now_ms();     // ms since the epoch

}  // namespace assure::control_room
