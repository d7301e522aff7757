#include "assure/drivers/gpiod_board.hpp"

#include <fmt/format.h>
#include <gpiod.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "assure/drivers/debounce.hpp"

namespace assure::drivers {
namespace {

struct ChipCloser {
  void operator()(gpiod_chip* chip) const { gpiod_chip_close(chip); }
};
using ChipPtr = std::unique_ptr<gpiod_chip, ChipCloser>;

std::string errno_text(int error) { return std::strerror(error); }

// The chips a board's lines are on, each opened once. A chip is named as the board file names it:
// "gpiochip0", "/dev/gpiochip0", a chip label such as "pinctrl-bcm2711", or a number.
class Chips {
 public:
  Result<gpiod_chip*> get(const std::string& name) {
    if (auto found = chips_.find(name); found != chips_.end()) return found->second.get();
    errno = 0;
    ChipPtr chip(gpiod_chip_open_lookup(name.c_str()));
    if (!chip) {
      const int error = errno;
      if (error == ENOENT || error == 0) {
        return fail(Errc::not_found,
                    fmt::format("GPIO chip '{}' not found (looked for it by name, /dev path, label and number)", name));
      }
      if (error == ENOTTY || error == EINVAL || error == ENODEV) {
        return fail(Errc::invalid_argument, fmt::format("'{}' is not a GPIO chip ({})", name, errno_text(error)));
      }
      return fail(Errc::io, fmt::format("GPIO chip '{}' cannot be opened: {}", name, errno_text(error)));
    }
    gpiod_chip* raw = chip.get();
    chips_.emplace(name, std::move(chip));
    return raw;
  }

 private:
  std::map<std::string, ChipPtr> chips_;
};

int bias_flags(hal::Bias bias) {
  switch (bias) {
    case hal::Bias::disabled: return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
    case hal::Bias::pull_up: return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
    case hal::Bias::pull_down: return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
    case hal::Bias::as_is: return 0;
  }
  return 0;
}

std::string describe(const hal::LineSpec& spec) {
  return spec.offset ? fmt::format("'{}' (line {} of {})", spec.name, *spec.offset, spec.chip)
                     : fmt::format("'{}' (line \"{}\" of {})", spec.name, spec.line_name, spec.chip);
}

// Finds a board line on its chip and requests it as asked.
Result<gpiod_line*> request(Chips& chips, const hal::LineSpec& spec, int type, int default_value,
                            const std::string& consumer) {
  auto chip = chips.get(spec.chip);
  if (!chip) return fail(chip.error().code, fmt::format("{}: {}", describe(spec), chip.error().message));
  gpiod_line* line = nullptr;
  if (spec.offset) {
    const unsigned count = gpiod_chip_num_lines(*chip);
    if (*spec.offset >= count) {
      return fail(Errc::invalid_argument, fmt::format("{}: the chip has {} lines (0 to {})", describe(spec), count,
                                                      count == 0 ? 0 : count - 1));
    }
    line = gpiod_chip_get_line(*chip, *spec.offset);
  } else {
    line = gpiod_chip_find_line(*chip, spec.line_name.c_str());
    if (!line) return fail(Errc::not_found, fmt::format("{}: the chip has no line by that name", describe(spec)));
  }
  if (!line) return fail(Errc::io, fmt::format("{}: {}", describe(spec), errno_text(errno)));
  gpiod_line_request_config config{};
  config.consumer = consumer.c_str();
  config.request_type = type;
  config.flags = (spec.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0) | bias_flags(spec.bias);
  if (gpiod_line_request(line, &config, default_value) != 0) {
    const int error = errno;
    if (error == EBUSY) {
      const char* holder = gpiod_line_consumer(line);
      return fail(Errc::busy, fmt::format("{} is busy: another program holds it{}", describe(spec),
                                          holder ? fmt::format(" (\"{}\")", holder) : std::string{}));
    }
    return fail(Errc::io, fmt::format("{} cannot be requested: {}", describe(spec), errno_text(error)));
  }
  return line;
}

class GpiodInputs final : public hal::DigitalInputs {
 public:
  GpiodInputs(Chips chips, std::vector<std::pair<hal::LineSpec, gpiod_line*>> lines, std::shared_ptr<hal::Clock> clock,
              int wake_fd)
      : chips_(std::move(chips)), lines_(std::move(lines)), clock_(std::move(clock)), wake_fd_(wake_fd) {
    for (const auto& [spec, line] : lines_) {
      const int level = gpiod_line_get_value(line);
      debouncer_.add_line(spec.name, spec.debounce, level == 1);
    }
  }
  ~GpiodInputs() override {
    for (auto& [spec, line] : lines_) gpiod_line_release(line);
    ::close(wake_fd_);
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [spec, line] : lines_) out.push_back(spec.name);
    return out;
  }

  Result<bool> read(std::string_view name) override {
    for (const auto& [spec, line] : lines_) {
      if (spec.name != name) continue;
      const int value = gpiod_line_get_value(line);
      if (value < 0) return fail(Errc::io, fmt::format("input {}: {}", describe(spec), errno_text(errno)));
      return value == 1;
    }
    return fail(Errc::not_found, fmt::format("no input named '{}' on this board", name));
  }

  Result<std::vector<hal::InputEvent>> wait(std::chrono::milliseconds timeout) override {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::vector<pollfd> fds;
    for (const auto& [spec, line] : lines_) fds.push_back({gpiod_line_event_get_fd(line), POLLIN | POLLPRI, 0});
    fds.push_back({wake_fd_, POLLIN, 0});
    while (true) {
      auto settled = debouncer_.settle(clock_->monotonic());
      if (!settled.empty()) return settled;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return settled;
      if (const auto due = debouncer_.next_deadline()) {
        const auto until_due = std::chrono::ceil<std::chrono::milliseconds>(*due - clock_->monotonic());
        left = std::clamp(until_due, std::chrono::milliseconds{1}, left);
      }
      for (auto& fd : fds) fd.revents = 0;
      const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
      if (ready < 0) {
        if (errno == EINTR) continue;
        return fail(Errc::io, fmt::format("waiting for GPIO events: {}", errno_text(errno)));
      }
      if (fds.back().revents != 0) {
        std::uint64_t count = 0;
        (void)!::read(wake_fd_, &count, sizeof count);
        return debouncer_.settle(clock_->monotonic());
      }
      for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto& [spec, line] = lines_[i];
        gpiod_line_event event{};
        if (gpiod_line_event_read(line, &event) != 0) {
          return fail(Errc::io, fmt::format("input {}: reading its event: {}", describe(spec), errno_text(errno)));
        }
        // Active-low is applied by the kernel: a rising edge is the input becoming active.
        const bool active = event.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
        debouncer_.raw(spec.name, active, stamp(event.ts));
      }
    }
  }

  void interrupt() override {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }

 private:
  // The kernel's timestamp of the edge on the board clock. Kernels since 5.7 stamp with
  // CLOCK_MONOTONIC, older ones with the wall clock: a stamp far from now is taken as now.
  std::chrono::nanoseconds stamp(const timespec& ts) const {
    const auto now = clock_->monotonic();
    const auto kernel = std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
    return (kernel > now || now - kernel > std::chrono::seconds{10}) ? now : kernel;
  }

  Chips chips_;
  std::vector<std::pair<hal::LineSpec, gpiod_line*>> lines_;
  std::shared_ptr<hal::Clock> clock_;
  int wake_fd_;
  Debouncer debouncer_;
};

class GpiodOutputs final : public hal::DigitalOutputs {
 public:
  GpiodOutputs(Chips chips, std::vector<std::pair<hal::LineSpec, gpiod_line*>> lines)
      : chips_(std::move(chips)), lines_(std::move(lines)) {}
  ~GpiodOutputs() override {
    for (auto& [spec, line] : lines_) gpiod_line_release(line);
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& [spec, line] : lines_) out.push_back(spec.name);
    return out;
  }

  Result<void> set(std::string_view name, bool active) override {
    std::lock_guard lock(mutex_);
    for (const auto& [spec, line] : lines_) {
      if (spec.name != name) continue;
      if (gpiod_line_set_value(line, active ? 1 : 0) != 0) {
        return fail(Errc::io, fmt::format("output {}: {}", describe(spec), errno_text(errno)));
      }
      return {};
    }
    return fail(Errc::not_found, fmt::format("no output named '{}' on this board", name));
  }

  Result<bool> get(std::string_view name) const override {
    std::lock_guard lock(mutex_);
    for (const auto& [spec, line] : lines_) {
      if (spec.name != name) continue;
      const int value = gpiod_line_get_value(line);
      if (value < 0) return fail(Errc::io, fmt::format("output {}: {}", describe(spec), errno_text(errno)));
      return value == 1;
    }
    return fail(Errc::not_found, fmt::format("no output named '{}' on this board", name));
  }

 private:
  Chips chips_;
  std::vector<std::pair<hal::LineSpec, gpiod_line*>> lines_;
  mutable std::mutex mutex_;
};

void release(std::vector<std::pair<hal::LineSpec, gpiod_line*>>& lines) {
  for (auto& [spec, line] : lines) gpiod_line_release(line);
  lines.clear();
}

}  // namespace

Result<std::unique_ptr<hal::DigitalInputs>> open_gpiod_inputs(const std::vector<hal::LineSpec>& lines,
                                                              std::shared_ptr<hal::Clock> clock,
                                                              const std::string& consumer) {
  Chips chips;
  std::vector<std::pair<hal::LineSpec, gpiod_line*>> requested;
  for (const auto& spec : lines) {
    auto line = request(chips, spec, GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES, 0, consumer);
    if (!line) {
      release(requested);
      return fail(line.error().code, "input " + line.error().message);
    }
    requested.emplace_back(spec, *line);
  }
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    release(requested);
    return fail(Errc::io, fmt::format("eventfd: {}", errno_text(errno)));
  }
  return std::make_unique<GpiodInputs>(std::move(chips), std::move(requested), std::move(clock), wake);
}

Result<std::unique_ptr<hal::DigitalOutputs>> open_gpiod_outputs(const std::vector<hal::LineSpec>& lines,
                                                                const std::string& consumer) {
  Chips chips;
  std::vector<std::pair<hal::LineSpec, gpiod_line*>> requested;
  for (const auto& spec : lines) {
    auto line = request(chips, spec, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT, spec.initial_active ? 1 : 0, consumer);
    if (!line) {
      release(requested);
      return fail(line.error().code, "output " + line.error().message);
    }
    requested.emplace_back(spec, *line);
  }
  return std::make_unique<GpiodOutputs>(std::move(chips), std::move(requested));
}

}  // namespace assure::drivers
