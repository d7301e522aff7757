#include "assure/pipelines/guarded_mapping.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <mutex>

namespace assure::pipelines {
namespace {

// The live mappings, read by the signal handler without a lock. A slot is claimed by `used`, and
// its range is visible to the handler once `begin` is set (after `end`); it is cleared `begin`
// first, before the pages are unmapped, so the handler never acts on a range that is gone.
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<std::uintptr_t> begin{0}, end{0};
  std::atomic<bool> torn{false};
};
std::array<Slot, GuardedMapping::kMaxMappings> slots;

struct sigaction previous_action {};
std::once_flag installed;

void pass_on(int signal, siginfo_t* info, void* context) {
  if ((previous_action.sa_flags & SA_SIGINFO) != 0 && previous_action.sa_sigaction != nullptr) {
    previous_action.sa_sigaction(signal, info, context);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    previous_action.sa_handler(signal);
  } else {
    // As if no one had caught it: the default action, on return (a fault is raised again by the
    // same instruction; a signal sent by kill() is pending, as SIGBUS is blocked in here).
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGBUS, &fallback, nullptr);
    if (info == nullptr || info->si_code <= 0) raise(SIGBUS);
  }
}

void on_sigbus(int signal, siginfo_t* info, void* context) {
  const auto address = reinterpret_cast<std::uintptr_t>(info != nullptr ? info->si_addr : nullptr);
  if (info != nullptr && info->si_code > 0) {  // raised by a fault, not sent
    for (Slot& slot : slots) {
      const std::uintptr_t begin = slot.begin.load(std::memory_order_acquire);
      if (begin == 0 || address < begin || address >= slot.end.load(std::memory_order_relaxed)) continue;
      // Zeroes over the whole mapping, in place: the faulting read goes on and finds them. (mmap
      // is a plain system call here, safe in a handler in practice though POSIX does not list it.)
      const std::size_t length = slot.end.load(std::memory_order_relaxed) - begin;
      if (mmap(reinterpret_cast<void*>(begin), length, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
        slot.torn.store(true, std::memory_order_release);
        return;
      }
      break;
    }
  }
  pass_on(signal, info, context);
}

void install() {
  struct sigaction action {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, &previous_action);
}

int claim_slot() {
  for (int i = 0; i < GuardedMapping::kMaxMappings; ++i) {
    bool expected = false;
    if (slots[static_cast<std::size_t>(i)].used.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      return i;
    }
  }
  return -1;
}

}  // namespace

std::optional<GuardedMapping> GuardedMapping::map(int fd, off_t offset, std::size_t length) {
  if (fd < 0 || offset < 0 || length == 0) return std::nullopt;
  std::call_once(installed, install);
  const int slot = claim_slot();
  if (slot < 0) return std::nullopt;
  static const auto page = static_cast<off_t>(sysconf(_SC_PAGESIZE));
  const off_t start = offset / page * page;
  const std::size_t mapped = static_cast<std::size_t>(offset - start) + length;
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, start);
  Slot& s = slots[static_cast<std::size_t>(slot)];
  if (base == MAP_FAILED) {
    s.used.store(false, std::memory_order_release);
    return std::nullopt;
  }
  s.torn.store(false, std::memory_order_relaxed);
  s.end.store(reinterpret_cast<std::uintptr_t>(base) + mapped, std::memory_order_relaxed);
  s.begin.store(reinterpret_cast<std::uintptr_t>(base), std::memory_order_release);
  return GuardedMapping(slot, base, mapped, static_cast<std::uint8_t*>(base) + (offset - start), length);
}

GuardedMapping::GuardedMapping(GuardedMapping&& other) noexcept
    : slot_(other.slot_), base_(other.base_), mapped_(other.mapped_), data_(other.data_), size_(other.size_) {
  other.slot_ = -1;
  other.base_ = nullptr;
}

GuardedMapping& GuardedMapping::operator=(GuardedMapping&& other) noexcept {
  if (this != &other) {
    release();
    slot_ = other.slot_;
    base_ = other.base_;
    mapped_ = other.mapped_;
    data_ = other.data_;
    size_ = other.size_;
    other.slot_ = -1;
    other.base_ = nullptr;
  }
  return *this;
}

GuardedMapping::~GuardedMapping() { release(); }

void GuardedMapping::release() {
  if (slot_ < 0) return;
  Slot& s = slots[static_cast<std::size_t>(slot_)];
  s.begin.store(0, std::memory_order_release);
  munmap(base_, mapped_);
  s.used.store(false, std::memory_order_release);
  slot_ = -1;
  base_ = nullptr;
}

bool GuardedMapping::torn() const {
  return slot_ >= 0 && slots[static_cast<std::size_t>(slot_)].torn.load(std::memory_order_acquire);
}

}  // namespace assure::pipelines
