#include "app/site_outlet.hpp"

#include <spdlog/spdlog.h>

#include "app/overloaded.hpp"

namespace assure::app {

SiteOutlet::SiteOutlet(hal::DigitalOutputs& outputs, const hal::Clock& clock, Hooks hooks)
    : outputs_(outputs), clock_(clock), hooks_(std::move(hooks)) {}

uplink::Event SiteOutlet::event(EventType type, std::string source, Severity severity) const {
  return uplink::make_event(type, std::move(source), severity, clock_.utc());
}

void SiteOutlet::carry_out(const alarm::Happenings& happened) {
  for (const auto& happening : happened) {
    std::visit(overloaded{
                   [&](const alarm::AlarmEvent& a) { alarm_event(a); },
                   [&](const alarm::ShockAttack& s) {
                     spdlog::warn("shock {}: {}", s.input, s.why);
                     auto e = event(EventType::shock, "input:" + s.input, Severity::warning);
                     e.zone = s.input;
                     e.details = {{"why", s.why}};
                     hooks_.raise(std::move(e));
                   },
                   [&](const alarm::ArmingRefused& r) {
                     spdlog::warn("keyfob {}: {}", r.input, r.reason);
                     auto e = event(EventType::arming_refused, "input:" + r.input, Severity::warning);
                     e.details = {{"reason", r.reason}, {"state", alarm::to_string(r.state)}};
                     hooks_.raise(std::move(e));
                   },
                   [&](const alarm::LightSwitching&) { hooks_.light_switching(); },
                   [&](const alarm::Switch& s) { switch_output(s); },
               },
               happening);
  }
}

// Alarm events to the log and the control room, with their Contact ID codes.
void SiteOutlet::alarm_event(const alarm::AlarmEvent& a) {
  const std::string source = a.zone.empty() ? "panel" : "zone:" + a.zone;
  const bool loud = a.severity == Severity::critical || a.severity == Severity::alarm;
  spdlog::log(loud ? spdlog::level::warn : spdlog::level::info, "alarm: {}{} {}{}{}, panel {}{}", to_string(a.kind),
              a.code.empty() ? "" : " (Contact ID " + a.code + (a.restore ? " restore)" : ")"), a.zone,
              a.confirmed ? " CONFIRMED" : "", a.held_off ? " held off (maintenance)" : "", alarm::to_string(a.state),
              a.user.empty() ? "" : ", by " + a.user);
  auto e = event(a.kind, source, a.held_off ? Severity::info : a.severity);
  e.zone = a.zone;
  e.details = {{"contact_id", a.code},     {"restore", a.restore},   {"state", alarm::to_string(a.state)},
               {"confirmed", a.confirmed}, {"held_off", a.held_off}, {"user", a.user}};
  hooks_.raise(std::move(e));
}

void SiteOutlet::switch_output(const alarm::Switch& change) {
  const std::string source = "output:" + change.output;
  if (auto set = outputs_.set(change.output, change.on); !set) {
    spdlog::error("output {}: could not switch {}: {}", change.output, change.on ? "on" : "off", set.error().message);
    auto failed = event(EventType::output_failed, source, Severity::warning);
    failed.details = {{"on", change.on}, {"reason", change.reason}, {"error", set.error().message}};
    hooks_.raise(std::move(failed));
    return;
  }
  spdlog::info("output {} {}: {}{}", change.output, change.on ? "on" : "off", change.reason,
               change.light ? " (the video was told)" : "");
  auto e = event(EventType::output, source, Severity::info);
  e.details = {{"on", change.on}, {"reason", change.reason}};
  hooks_.raise(std::move(e));
}

}  // namespace assure::app
