#include "assure/firmware/shell/fallback.hpp"

#include <regex>
#include <sstream>

#include "assure/base/files.hpp"
#include "assure/config/candidate.hpp"
#include "assure/firmware/shell/revisions.hpp"

namespace assure::shell {

std::optional<Fallback> last_good_config(const std::filesystem::path& file, const std::string& why) {
  std::filesystem::path state_dir = "/var/lib/assure-edge/state";
  if (const auto* key = config::device_schema().find("device.state_dir"); key && std::holds_alternative<std::string>(key->fallback)) {
    state_dir = std::get<std::string>(key->fallback);
  }
  if (auto text = base::read_bounded(file, 1u << 20)) {
    std::optional<std::string> named;
    if (auto broken = config::Candidate::from_text(*text, file.string(), file.parent_path())) {
      if (auto shown = broken->show("device.state_dir"); shown && shown->starts_with('"') && shown->ends_with('"')) {
        named = shown->substr(1, shown->size() - 2);
      }
    } else {
      // Not even TOML: the line that names it, if one still does.
      static const std::regex kLine(R"re(^\s*state_dir\s*=\s*"([^"\\]{1,4096})"\s*(#.*)?$)re");
      std::istringstream lines(*text);
      for (std::string line; std::getline(lines, line);) {
        if (std::smatch m; line.size() < 8192 && std::regex_match(line, m, kLine)) named = m[1].str();
      }
    }
    if (named) state_dir = std::filesystem::path(*named).is_absolute() ? std::filesystem::path(*named) : file.parent_path() / *named;
  }
  auto revisions = Revisions::open(state_dir / "config");
  if (!revisions || !revisions->good()) return std::nullopt;
  const auto good = *revisions->good();
  auto text = revisions->text(good);
  if (!text) return std::nullopt;
  auto parsed = config::parse_device_config(*text, file.string(), file.parent_path());
  if (!parsed) return std::nullopt;
  const auto info = revisions->list();
  nlohmann::json details{{"file", file.string()}, {"error", why.substr(0, 2000)}, {"revision", good}};
  for (const auto& r : info) {
    if (r.number == good) details["revision_by"] = r.who;
  }
  return Fallback{std::move(*parsed), std::move(*text), std::move(details)};
}

}  // namespace assure::shell
