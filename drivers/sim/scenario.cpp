#include <fmt/format.h>

#include <algorithm>
#include <toml++/toml.h>

#include "assure/drivers/sim_board.hpp"

namespace assure::drivers {
namespace {

std::string where(const std::filesystem::path& file, const toml::source_region& region) {
  return fmt::format("{}:{}:{}", file.string(), region.begin.line, region.begin.column);
}

}  // namespace

Result<std::vector<ScenarioStep>> load_scenario(const std::filesystem::path& file,
                                                const std::vector<std::string>& inputs) {
  toml::table doc;
  try {
    doc = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return fail(Errc::parse, fmt::format("{}: {}", where(file, e.source()), e.description()));
  }
  std::vector<ScenarioStep> steps;
  for (const auto& [key, node] : doc) {
    if (key.str() != "step") {
      return fail(Errc::parse, fmt::format("{}: unknown key '{}' (a scenario holds [[step]] tables)",
                                           where(file, key.source()), key.str()));
    }
  }
  const toml::array* array = doc["step"].as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return fail(Errc::parse, fmt::format("{}: a scenario needs [[step]] tables", file.string()));
  }
  for (const auto& element : *array) {
    const toml::table& table = *element.as_table();
    ScenarioStep step;
    for (const auto& [key, node] : table) {
      const std::string_view k = key.str();
      if (k == "at_ms" && node.is_integer() && node.as_integer()->get() >= 0) {
        step.at = std::chrono::milliseconds{node.as_integer()->get()};
      } else if (k == "input" && node.is_string()) {
        step.input = node.as_string()->get();
        if (std::find(inputs.begin(), inputs.end(), step.input) == inputs.end()) {
          return fail(Errc::not_found, fmt::format("{}: step.input: the board has no input '{}'",
                                                   where(file, node.source()), step.input));
        }
      } else if (k == "active" && node.is_boolean()) {
        step.active = node.as_boolean()->get();
      } else {
        return fail(Errc::parse,
                    fmt::format("{}: step.{}: expected at_ms (integer >= 0), input (string) or "
                                "active (boolean)",
                                where(file, key.source()), k));
      }
    }
    if (step.input.empty()) {
      return fail(Errc::parse, fmt::format("{}: step needs an input", where(file, table.source())));
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace assure::drivers
