#pragma once
// How urgent an event is for the operator: the alarm queue's order. Pure.
//
//   0 panic     a panic button or duress code: someone may be in danger now
//   1 alarm     burglary, entry, a shock sensor's attack
//   2 tamper
//   3 trouble   the kit cannot protect as it should: mains, battery, video, storage, a device
//               that stopped reporting (missed supervision) or restarted, refused commands
//   4 motion    a camera saw something
//   5 information  arming, restores, outputs, engineers' work: recorded, needs no one
//
// Types this build does not know (newer firmware) rank by their severity, never below trouble
// when the device calls them alarm or critical. Everything above information waits on the queue
// until an operator acknowledges it.

#include <string_view>

namespace assure::control_room {

enum class Priority { panic = 0, alarm, tamper, trouble, motion, information };

Priority priority_of(std::string_view type, std::string_view severity);
std::string_view to_string(Priority priority);
inline bool queued(Priority p) { return p != Priority::information; }

}  // namespace assure::control_room
