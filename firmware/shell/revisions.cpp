#include "assure/firmware/shell/revisions.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "assure/base/files.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/uplink/json_input.hpp"

namespace assure::shell {
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxText = 1u << 20;  // as the loader's own limit
constexpr InputBounds kMetaBounds{.max_bytes = 16u << 10, .max_depth = 4, .max_string = 4096};

std::optional<std::uint64_t> number_in(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_unsigned()) return std::nullopt;
  return j[key].get<std::uint64_t>();
}

std::string string_in(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string{};
}

// "000042.json" -> 42; anything else in the folder is not ours and is left alone.
std::optional<std::uint64_t> number_of(const fs::path& name) {
  const std::string stem = name.stem().string();
  if (name.extension() != ".json" || stem.size() != 6 || !std::all_of(stem.begin(), stem.end(), ::isdigit)) return std::nullopt;
  return std::stoull(stem);
}

}  // namespace

fs::path Revisions::file(std::uint64_t number, const char* ext) const {
  return dir_ / fmt::format("{:06}{}", number, ext);
}

Result<Revisions> Revisions::open(fs::path dir, std::size_t keep) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::io, fmt::format("config revisions: cannot make {}: {}", dir.string(), ec.message()));
  Revisions r(std::move(dir), std::max<std::size_t>(keep, 2));
  for (const auto& entry : fs::directory_iterator(r.dir_, ec)) {
    const auto number = number_of(entry.path().filename());
    if (!number) continue;
    auto text = base::read_bounded(entry.path(), kMetaBounds.max_bytes);
    auto meta = text ? uplink::parse_json(*text, entry.path().string(), kMetaBounds) : Result<nlohmann::json>{};
    if (!text || !meta || !meta->is_object()) {
      spdlog::warn("config revisions: {} cannot be read; skipped", entry.path().string());
      continue;
    }
    auto when = parse_utc_iso8601(string_in(*meta, "when"));
    r.revisions_.push_back({*number, string_in(*meta, "who"), when.value_or(Utc{}), string_in(*meta, "comment")});
  }
  std::sort(r.revisions_.begin(), r.revisions_.end(), [](auto& a, auto& b) { return a.number < b.number; });
  if (auto state = base::read_bounded(r.dir_ / "state.json", kMetaBounds.max_bytes)) {
    auto j = uplink::parse_json(*state, "state.json", kMetaBounds);
    if (j && j->is_object()) {
      r.active_ = number_in(*j, "active");
      r.good_ = number_in(*j, "good");
      if (j->contains("pending") && (*j)["pending"].is_object()) {
        const auto& p = (*j)["pending"];
        auto until = parse_utc_iso8601(string_in(p, "until"));
        auto rev = number_in(p, "revision"), prev = number_in(p, "previous");
        if (until && rev && prev) r.pending_ = PendingConfirm{*rev, *prev, *until};
      }
    } else {
      spdlog::warn("config revisions: state.json is damaged; no revision is taken as running");
    }
  }
  return r;
}

Result<RevisionInfo> Revisions::add(const std::string& text, std::string who, std::string comment, Utc when) {
  if (text.size() > kMaxText) return fail(Errc::invalid_argument, "a configuration is at most 1 MiB");
  RevisionInfo info{revisions_.empty() ? 1 : revisions_.back().number + 1, std::move(who), when, std::move(comment)};
  if (auto written = base::write_durably(file(info.number, ".toml"), text, 0640); !written) return std::unexpected(written.error());
  const nlohmann::json meta{{"revision", info.number}, {"who", info.who}, {"when", utc_iso8601(when)}, {"comment", info.comment}};
  if (auto written = base::write_durably(file(info.number, ".json"), uplink::dump_json(meta) + "\n", 0640); !written) {
    return std::unexpected(written.error());
  }
  revisions_.push_back(info);
  // Old revisions go, never the running one, the good one or one a pending confirm may return to.
  while (revisions_.size() > keep_) {
    auto oldest = std::find_if(revisions_.begin(), revisions_.end(), [&](const RevisionInfo& r) {
      return r.number != active_ && r.number != good_ && (!pending_ || r.number != pending_->previous);
    });
    if (oldest == revisions_.end()) break;
    std::error_code ec;
    fs::remove(file(oldest->number, ".json"), ec);
    fs::remove(file(oldest->number, ".toml"), ec);
    revisions_.erase(oldest);
  }
  return info;
}

std::vector<RevisionInfo> Revisions::list() const { return {revisions_.rbegin(), revisions_.rend()}; }

Result<std::string> Revisions::text(std::uint64_t number) const {
  if (std::none_of(revisions_.begin(), revisions_.end(), [&](auto& r) { return r.number == number; })) {
    return fail(Errc::not_found, fmt::format("no revision {} (kept: the last {})", number, keep_));
  }
  return base::read_bounded(file(number, ".toml"), kMaxText);
}

Result<void> Revisions::save_state() const {
  nlohmann::json j = nlohmann::json::object();
  if (active_) j["active"] = *active_;
  if (good_) j["good"] = *good_;
  if (pending_) {
    j["pending"] = {{"revision", pending_->revision}, {"previous", pending_->previous}, {"until", utc_iso8601(pending_->until)}};
  }
  return base::write_durably(dir_ / "state.json", uplink::dump_json(j) + "\n", 0640);
}

Result<void> Revisions::set_active(std::uint64_t number) {
  active_ = number;
  return save_state();
}

Result<void> Revisions::set_good(std::uint64_t number) {
  good_ = number;
  return save_state();
}

Result<void> Revisions::set_pending(std::optional<PendingConfirm> pending) {
  pending_ = pending;
  return save_state();
}

}  // namespace assure::shell
