#pragma once
// Errors as values: every fallible call below the daemon's edges returns Result<T>.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace assure {

enum class Errc {
  invalid_argument,  // the caller or the configuration asked for something that cannot be
  not_found,         // a file, a chip, a line, an element or a key that is not there
  busy,              // held by someone else (a GPIO line another process requested)
  io,                // the operating system refused or failed a read or write
  unavailable,       // a peer (broker, camera) cannot be reached now; worth retrying
  timeout,
  parse,             // bytes that do not mean what they should (a payload, a file)
  unsupported,
};

constexpr std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::busy: return "busy";
    case Errc::io: return "i/o error";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::parse: return "parse error";
    case Errc::unsupported: return "unsupported";
  }
  return "unknown error";
}

struct Error {
  Errc code;
  std::string message;  // names what failed and where, ready for a log line or an engineer
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace assure
