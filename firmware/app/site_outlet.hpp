#pragma once
// Where what the alarm site says happened goes: each happening logged and raised to the control
// room (alarm events with their Contact ID codes), and each output switched on the board, the
// video told first when it is one of the device's own lights. An output that cannot be switched
// is reported, never dropped.

#include <functional>
#include <string>

#include "assure/firmware/alarm/site.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/hal/clock.hpp"
#include "assure/hal/io.hpp"

namespace assure::app {

class SiteOutlet {
 public:
  struct Hooks {
    std::function<std::string(uplink::Event)> raise;  // stores and sends; returns the id
    std::function<void()> light_switching;            // tells the video
  };
  SiteOutlet(hal::DigitalOutputs& outputs, const hal::Clock& clock, Hooks hooks);

  void carry_out(const alarm::Happenings& happened);

 private:
  void alarm_event(const alarm::AlarmEvent& a);
  void switch_output(const alarm::Switch& change);
  uplink::Event event(EventType type, std::string source, Severity severity) const;

  hal::DigitalOutputs& outputs_;
  const hal::Clock& clock_;
  Hooks hooks_;
};

}  // namespace assure::app
