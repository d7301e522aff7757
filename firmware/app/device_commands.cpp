#include "assure/firmware/device_commands.hpp"

#include <chrono>

namespace assure::app {
namespace {

using json = nlohmann::json;

json panel_state(DeviceControl& device) { return {{"state", alarm::to_string(device.site().panel().state())}}; }

// What a site call came to: carried out and answered with the panel's state, or refused.
Reply answer(DeviceControl& device, Result<alarm::Happenings> happened, json extra = json::object()) {
  if (happened) device.carry_out(*happened);
  json result = panel_state(device);
  result.update(extra);
  return happened ? Reply::done(std::move(result)) : Reply::refused(happened.error().message, std::move(result));
}

Reply ping(DeviceControl& device, const json&, std::string_view) { return Reply::done(device.identity()); }

Reply snapshot(DeviceControl& device, const json&, std::string_view) {
  if (auto why = device.no_picture(); !why.empty()) return Reply::refused("no picture: " + why);
  device.request_snapshot();
  return Reply::pending();
}

Reply accept_view(DeviceControl& device, const json&, std::string_view who) {
  if (auto why = device.accept_view(who); !why.empty()) return Reply::refused(why);
  return Reply::done({{"accepted", true}});
}

Reply resend_clip(DeviceControl& device, const json& args, std::string_view) {
  const std::string clip = args["clip"];
  auto queued = device.resend_clip(clip);
  if (!queued) return Reply::refused(queued.error().message);
  return Reply::done({{"clip", clip}, {"messages", *queued}});
}

Reply arm(DeviceControl& device, const json& args, std::string_view who) {
  const auto mode = args["mode"] == "home" ? alarm::ArmMode::home : alarm::ArmMode::away;
  return answer(device, device.site().arm(mode, who, device.now()));
}

Reply disarm(DeviceControl& device, const json&, std::string_view who) {
  return answer(device, device.site().disarm(who, device.now()));
}

// The control room puts a site in maintenance while its engineer works there: burglary and tamper
// are held off, a panic never is.
Reply maintenance(DeviceControl& device, const json& args, std::string_view who) {
  auto done = device.site().maintenance(args["on"].get<bool>(), who, device.now());
  return answer(device, std::move(done), {{"maintenance", device.site().panel().maintenance()}});
}

// A light by hand for a while (auto gives it back), a test sound or a silence of the sounder.
Reply outputs(DeviceControl& device, const json& args, std::string_view who) {
  const std::string output = args["output"];
  const std::string state = args["state"];
  const auto request = state == "on"    ? alarm::OutputRequest::on
                       : state == "off" ? alarm::OutputRequest::off
                                        : alarm::OutputRequest::automatic;
  auto done = device.site().output(output, request, std::chrono::seconds{args["seconds"].get<std::int64_t>()}, who,
                                   device.now());
  if (!done) return Reply::refused(done.error().message);
  device.carry_out(*done);
  return Reply::done({{"output", output}, {"on", device.site().output_on(output).value_or(false)}});
}

// Config changes from the control room, through the same candidate, checks and commit as the
// engineer's shell (confirmed commits revert by themselves, as there).
Reply config(DeviceControl& device, const json& args, std::string_view who) {
  auto done = device.change_config(args, who);
  if (!done) return Reply::refused(done.error().message);
  return Reply::done(std::move(*done));
}

// The control room answering an engineer's "mqtt test" (its link_test event): the round trip ends here.
// Only the control room may answer; from the shell it would prove nothing.
Reply echo(DeviceControl& device, const json& args, std::string_view who) {
  if (who != "control-room") return Reply::refused("echo answers a link test and comes only from the control room");
  const std::string test = args["test"];
  return Reply::done({{"test", test}, {"waiting", device.link_echo(test)}});
}

// Holds, releases and exports are the police's, through the control room and signed; the evidence
// store carries them out on its own thread and the reply comes from there.
Reply evidence(DeviceControl& device, const json&, std::string_view who) {
  if (who != "control-room") return Reply::refused("holds, releases and exports come only from the control room, signed");
  if (auto why = device.no_evidence_store(); !why.empty()) return Reply::refused(why);
  return Reply::pending();
}

}  // namespace

Dispatcher device_commands(DeviceControl& device) {
  using T = Arg::Type;
  auto bind = [&device](Reply (*handler)(DeviceControl&, const json&, std::string_view)) -> Handler {
    return [&device, handler](const json& args, std::string_view who) { return handler(device, args, who); };
  };
  Dispatcher table;
  table.add({"ping", "firmware, boot id and uptime", {}, bind(ping)});
  table.add({"snapshot", "a picture now, sent as an event with its JPEG", {}, bind(snapshot)});
  table.add({"accept_view", "the camera's view now becomes its tamper reference (a cleaned dome, a re-aim)", {},
             bind(accept_view)});
  table.add({"resend_clip", "a clip's manifest and chunks again, from the device's copy",
             {{.name = "clip", .required = true}}, bind(resend_clip)});
  table.add({"arm", "arm the panel (after its exit delay)",
             {{.name = "mode", .one_of = {"away", "home"}, .fallback = "away"}}, bind(arm)});
  table.add({"disarm", "disarm the panel (and end an alarm)", {}, bind(disarm)});
  table.add({"maintenance", "maintenance on or off: burglary and tamper held off, never a panic",
             {{.name = "on", .type = T::boolean, .required = true}}, bind(maintenance)});
  table.add({"outputs", "a light or the sounder by hand for a while, or back to automatic",
             {{.name = "output", .required = true},
              {.name = "state", .required = true, .one_of = {"on", "off", "auto"}},
              {.name = "seconds", .type = T::integer, .min = 1, .max = 86400, .fallback = 600}},
             bind(outputs)});
  table.add({"config", "config changes, committed as the engineer's shell would (optionally confirmed)",
             {{.name = "changes", .type = T::array, .required = true, .max = 64},
              {.name = "comment", .fallback = ""},
              {.name = "confirm_minutes", .type = T::integer, .min = 1, .max = 60}},
             bind(config)});
  table.add({"echo", "the control room's answer to a link test (mqtt test)", {{.name = "test", .required = true}},
             bind(echo)});
  table.add({"hold", "an evidential hold: footage from..to (UTC) kept from retention until released",
             {{.name = "reference", .required = true},
              {.name = "from", .required = true},
              {.name = "to", .required = true},
              {.name = "camera", .fallback = ""},
              {.name = "by", .required = true},
              {.name = "reason", .fallback = ""}},
             bind(evidence)});
  table.add({"release", "ends the evidential hold with this case reference",
             {{.name = "reference", .required = true}, {.name = "by", .required = true}}, bind(evidence)});
  table.add({"export", "footage from..to (UTC) cut at keyframes into one signed MP4, sent like a clip",
             {{.name = "from", .required = true},
              {.name = "to", .required = true},
              {.name = "requester", .required = true},
              {.name = "reason", .required = true}},
             bind(evidence)});
  return table;
}

}  // namespace assure::app
