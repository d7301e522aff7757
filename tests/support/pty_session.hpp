#pragma once
// A program run in a real pseudo-terminal, as an engineer's SSH session would run it: keys typed
// in, the screen's bytes read back, for tests of interactive programs (assure-shell).

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace assure::test {

class PtySession {
 public:
  explicit PtySession(const std::vector<std::string>& argv);
  ~PtySession();  // SIGKILL if still running
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  void type(const std::string& keys);  // as typed: "\t" is Tab, "\r" is Enter
  // Reads until `text` has appeared after the last wait (true) or the timeout (false).
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds{20});
  const std::string& screen() const { return screen_; }  // everything shown so far
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds{10});  // exit code; -1 on timeout

 private:
  void pump(int timeout_ms);
  pid_t pid_ = -1;
  int master_ = -1;
  std::string screen_;
  std::size_t seen_ = 0;
};

}  // namespace assure::test
