#include "assure/firmware/dispatcher.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "assure/base/input_bounds.hpp"

namespace assure::app {
namespace {

std::string join_quoted(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "\"" : ", \"") + w + "\"";
  return out;
}

std::string arg_names(const CommandSpec& spec) {
  std::string out;
  for (const auto& a : spec.args) out += (out.empty() ? "" : ", ") + a.name;
  return out.empty() ? "none" : out;
}

Result<void> check_one(const Arg& arg, const nlohmann::json& value) {
  switch (arg.type) {
    case Arg::Type::array:
      if (!value.is_array()) return fail(Errc::invalid_argument, fmt::format("\"{}\" must be a list", arg.name));
      if (arg.max > 0 && value.size() > static_cast<std::size_t>(arg.max)) {
        return fail(Errc::invalid_argument, fmt::format("\"{}\" holds at most {} items", arg.name, arg.max));
      }
      return {};
    case Arg::Type::boolean:
      if (!value.is_boolean()) return fail(Errc::invalid_argument, fmt::format("\"{}\" must be true or false", arg.name));
      return {};
    case Arg::Type::integer: {
      if (!value.is_number_integer()) {
        return fail(Errc::invalid_argument, fmt::format("\"{}\" must be a whole number", arg.name));
      }
      if (arg.max > arg.min) {
        // Compared as JSON holds it: an unsigned past INT64_MAX is out of range, not wrapped.
        const bool is_unsigned = value.is_number_unsigned();
        const bool above = is_unsigned ? value.get<std::uint64_t>() > static_cast<std::uint64_t>(arg.max)
                                       : value.get<std::int64_t>() > arg.max;
        const bool below = is_unsigned ? arg.min > 0 && value.get<std::uint64_t>() < static_cast<std::uint64_t>(arg.min)
                                       : value.get<std::int64_t>() < arg.min;
        if (above || below) {
          return fail(Errc::invalid_argument, fmt::format("\"{}\" must be {} to {}", arg.name, arg.min, arg.max));
        }
      }
      return {};
    }
    case Arg::Type::string:
      if (!value.is_string()) return fail(Errc::invalid_argument, fmt::format("\"{}\" must be a string", arg.name));
      if (!arg.one_of.empty() &&
          std::find(arg.one_of.begin(), arg.one_of.end(), value.get<std::string>()) == arg.one_of.end()) {
        return fail(Errc::invalid_argument, fmt::format("\"{}\" must be one of {}, not \"{}\"", arg.name,
                                                        join_quoted(arg.one_of), excerpt(value.get<std::string>(), 64)));
      }
      return {};
  }
  return {};
}

}  // namespace

Result<nlohmann::json> check_args(const CommandSpec& spec, const nlohmann::json& args) {
  if (!args.is_null() && !args.is_object()) {
    return fail(Errc::invalid_argument, fmt::format("the arguments of {} must be an object", spec.name));
  }
  nlohmann::json checked = nlohmann::json::object();
  if (args.is_object()) {
    for (const auto& [key, value] : args.items()) {
      const auto known = std::find_if(spec.args.begin(), spec.args.end(), [&](const Arg& a) { return a.name == key; });
      if (known == spec.args.end()) {
        return fail(Errc::invalid_argument, fmt::format("{} takes no argument \"{}\" (it takes: {})", spec.name,
                                                        excerpt(key, 64), arg_names(spec)));
      }
      if (auto ok = check_one(*known, value); !ok) return std::unexpected(ok.error());
      checked[key] = value;
    }
  }
  for (const auto& arg : spec.args) {
    if (checked.contains(arg.name)) continue;
    if (arg.required) return fail(Errc::invalid_argument, fmt::format("{} needs \"{}\"", spec.name, arg.name));
    if (!arg.fallback.is_null()) checked[arg.name] = arg.fallback;
  }
  return checked;
}

void Dispatcher::add(CommandSpec spec) {
  auto same = [&](const CommandSpec& c) { return c.name == spec.name; };
  commands_.erase(std::remove_if(commands_.begin(), commands_.end(), same), commands_.end());
  commands_.push_back(std::move(spec));
}

const CommandSpec* Dispatcher::find(std::string_view name) const {
  for (const auto& c : commands_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> Dispatcher::names() const {
  std::vector<std::string> out;
  for (const auto& c : commands_) out.push_back(c.name);
  return out;
}

Reply Dispatcher::dispatch(std::string_view name, const nlohmann::json& args, std::string_view who) const {
  const CommandSpec* spec = find(name);
  if (spec == nullptr) {
    std::string known;
    for (const auto& c : commands_) known += (known.empty() ? "" : ", ") + c.name;
    return Reply::refused(fmt::format("unknown command \"{}\" (known: {})", excerpt(name, 64), known));
  }
  auto checked = check_args(*spec, args);
  if (!checked) return Reply::refused(fmt::format("bad arguments for {}: {}", spec->name, checked.error().message));
  try {
    return spec->handler(*checked, who);
  } catch (const std::exception& e) {
    return Reply::refused(fmt::format("{} failed: {}", spec->name, e.what()));
  }
}

}  // namespace assure::app
