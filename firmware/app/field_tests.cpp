#include "assure/firmware/field_tests.hpp"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "assure/base/utc.hpp"
#include "assure/firmware/shell/gatekeeper.hpp"

namespace assure::app {
namespace {

using json = nlohmann::json;

double rounded(double v, double step) { return std::round(v / step) * step; }

}  // namespace

void FieldTests::watch_input(const Forward& request, const std::string& input) {
  inputs_[request.client] = InputWatch{input, 0};
  send_(request.client, shell::answer(request.request, true, "", {{"watching", input}}));
}

void FieldTests::input_edge(const hal::InputEvent& edge, std::chrono::system_clock::time_point utc) {
  for (auto& [client, watch] : inputs_) {
    if (watch.input != "*" && watch.input != edge.name) continue;
    if (edge.active) ++watch.active_edges;
    send_(client, {{"watch", "input"},
                   {"input", edge.name},
                   {"active", edge.active},
                   {"monotonic_ms", std::chrono::duration_cast<std::chrono::milliseconds>(edge.timestamp).count()},
                   {"time", utc_iso8601(utc)},
                   {"active_edges", watch.active_edges}});
  }
}

void FieldTests::watch_aim(const Forward& request, std::vector<std::string> zones) {
  send_(request.client, shell::answer(request.request, true, "", {{"watching", "aim"}, {"zones", zones}}));
  aimers_[request.client] = std::move(zones);
}

void FieldTests::aim(const pipelines::AimReading& reading, std::chrono::system_clock::time_point utc) {
  for (const auto& [client, names] : aimers_) {
    json zones = json::array();
    for (std::size_t i = 0; i < reading.zones.size(); ++i) {
      zones.push_back({{"zone", i < names.size() ? names[i] : "zone " + std::to_string(i + 1)},
                       {"moving", rounded(reading.zones[i], 0.001)}});
    }
    send_(client, {{"watch", "aim"},
                   {"time", utc_iso8601(utc)},
                   {"frame", reading.frame},
                   {"frames", reading.frames},
                   {"brightness", rounded(reading.view.brightness, 0.1)},
                   {"contrast", rounded(reading.view.contrast, 0.1)},
                   {"noise", rounded(reading.view.noise, 0.01)},
                   {"focus", rounded(reading.view.focus, 1)},
                   {"threshold", rounded(reading.threshold, 0.1)},
                   {"motion", reading.motion},
                   {"light_change", reading.light_change},
                   {"zones", zones}});
  }
}

void FieldTests::snapshot(const std::string& event_id, const std::vector<std::uint8_t>& jpeg) {
  if (snapshots_.empty()) return;
  std::string b64(sodium_base64_encoded_len(jpeg.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), jpeg.data(), jpeg.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  for (const auto& waiting : snapshots_) {
    send_(waiting.client,
          shell::answer(waiting.request, true, "", {{"event", event_id}, {"bytes", jpeg.size()}, {"jpeg_base64", b64}}));
  }
  snapshots_.clear();
}

void FieldTests::link_test(const Forward& request, std::string nonce, std::string event_id, Schedule::Time sent) {
  links_.push_back(LinkTest{request, std::move(nonce), std::move(event_id), sent});
}

bool FieldTests::testing_link(std::uint64_t client) const {
  return std::any_of(links_.begin(), links_.end(), [&](const LinkTest& t) { return t.request.client == client; });
}

bool FieldTests::echoed(const std::string& nonce, Schedule::Time at) {
  const auto found = std::find_if(links_.begin(), links_.end(), [&](const LinkTest& t) { return t.nonce == nonce; });
  if (found == links_.end()) return false;
  const double ms = std::chrono::duration<double, std::milli>(at - found->sent).count();
  send_(found->request.client, shell::answer(found->request.request, true, "",
                                             {{"event", found->event_id}, {"round_trip_ms", rounded(ms, 0.1)}}));
  links_.erase(found);
  return true;
}

void FieldTests::tick(Schedule::Time now, const std::string& why) {
  std::erase_if(links_, [&](const LinkTest& t) {
    if (now - t.sent < kLinkTestTimeout) return false;
    send_(t.request.client,
          shell::answer(t.request.request, false,
                        "no answer from the control room in " + std::to_string(kLinkTestTimeout.count()) + " s (" + why +
                            "; the test event " + t.event_id + " stays queued)",
                        nullptr));
    return true;
  });
}

std::optional<Schedule::Time> FieldTests::next_deadline() const {
  std::optional<Schedule::Time> soonest;
  for (const auto& t : links_) {
    const auto due = t.sent + kLinkTestTimeout;
    if (!soonest || due < *soonest) soonest = due;
  }
  return soonest;
}

void FieldTests::unwatch(std::uint64_t client) {
  inputs_.erase(client);
  aimers_.erase(client);
}

void FieldTests::gone(std::uint64_t client) {
  unwatch(client);
  std::erase_if(snapshots_, [&](const Forward& f) { return f.client == client; });
  std::erase_if(links_, [&](const LinkTest& t) { return t.request.client == client; });
}

}  // namespace assure::app
