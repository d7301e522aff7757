#pragma once
// The simulated board: hal implementations with no hardware behind them. Inputs are driven at run
// time (drive()) or by a scenario file; every output change and watchdog kick is recorded.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "assure/drivers/debounce.hpp"
#include "assure/hal/board.hpp"

namespace assure::drivers {

// A clock the simulation moves by hand, for tests of anything timed (watchdog, hold times).
class SimClock final : public hal::Clock {
 public:
  std::chrono::nanoseconds monotonic() const override { return std::chrono::nanoseconds{monotonic_ns_.load()}; }
  std::chrono::system_clock::time_point utc() const override {
    return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds{utc_offset_ns_.load() + monotonic_ns_.load()})};
  }
  void advance(std::chrono::nanoseconds by) { monotonic_ns_ += by.count(); }
  void set_utc(std::chrono::system_clock::time_point now) {
    utc_offset_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() -
                     monotonic_ns_.load();
  }

 private:
  std::atomic<std::int64_t> monotonic_ns_{1'000'000'000'000};        // starts at 1000 s, as after a boot
  std::atomic<std::int64_t> utc_offset_ns_{1'767'225'600'000'000'000};  // 2026-01-01T00:00:00Z
};

// One timed input change of a scenario file (board/sim/scenarios/*.toml).
struct ScenarioStep {
  std::chrono::milliseconds at{0};  // from the moment the scenario starts
  std::string input;
  bool active = false;
};

// Reads a scenario file; every step must name one of `inputs`. Errors carry file:line:column.
Result<std::vector<ScenarioStep>> load_scenario(const std::filesystem::path& file,
                                                const std::vector<std::string>& inputs);

class SimInputs final : public hal::DigitalInputs {
 public:
  SimInputs(std::vector<hal::LineSpec> lines, std::shared_ptr<hal::Clock> clock);
  ~SimInputs() override;

  std::vector<std::string> names() const override;
  Result<bool> read(std::string_view name) override;
  Result<std::vector<hal::InputEvent>> wait(std::chrono::milliseconds timeout) override;
  void interrupt() override;

  // Sets an input's logical level as the wiring would. As on real hardware, the line's debounce
  // applies: an edge is reported once the level has held for it (at once for a line without).
  Result<void> drive(std::string_view name, bool active);
  // Plays the steps on a thread of their own, timed from now; stops with this object.
  void play(std::vector<ScenarioStep> steps);

 private:
  std::vector<hal::LineSpec> lines_;
  std::shared_ptr<hal::Clock> clock_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, bool, std::less<>> levels_;
  Debouncer debouncer_;
  std::uint64_t changes_ = 0;
  bool interrupted_ = false;
  bool stopping_ = false;
  std::thread player_;
};

struct OutputChange {
  std::string name;
  bool active = false;
  std::chrono::nanoseconds timestamp{0};
};

class SimOutputs final : public hal::DigitalOutputs {
 public:
  SimOutputs(std::vector<hal::LineSpec> lines, std::shared_ptr<hal::Clock> clock);

  std::vector<std::string> names() const override;
  Result<void> set(std::string_view name, bool active) override;
  Result<bool> get(std::string_view name) const override;

  // Every change since start, oldest first (setting an output to the state it has is no change).
  std::vector<OutputChange> history() const;
  void on_change(std::function<void(const OutputChange&)> observer);

 private:
  std::shared_ptr<hal::Clock> clock_;
  mutable std::mutex mutex_;
  std::map<std::string, bool, std::less<>> levels_;
  std::vector<OutputChange> history_;
  std::function<void(const OutputChange&)> observer_;
};

class SimWatchdog final : public hal::Watchdog {
 public:
  explicit SimWatchdog(std::shared_ptr<hal::Clock> clock);

  Result<void> start(std::chrono::seconds timeout) override;
  Result<void> kick() override;
  Result<void> stop() override;
  std::string describe() const override { return "simulated watchdog"; }

  bool running() const;
  unsigned kicks() const;
  // True when a real watchdog would have reset the board by now: started and not kicked in time.
  bool expired() const;

 private:
  std::shared_ptr<hal::Clock> clock_;
  mutable std::mutex mutex_;
  bool running_ = false;
  unsigned kicks_ = 0;
  std::chrono::seconds timeout_{0};
  std::chrono::nanoseconds last_kick_{0};
};

// A simulated board with typed handles on its parts, for tests that drive and inspect it.
struct SimBoard {
  hal::Board board;
  SimInputs* inputs = nullptr;
  SimOutputs* outputs = nullptr;
  SimWatchdog* watchdog = nullptr;
};

Result<SimBoard> make_sim_board(const hal::BoardSpec& spec, std::shared_ptr<hal::Clock> clock);

}  // namespace assure::drivers
