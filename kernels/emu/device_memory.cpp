// Device memory of the emulated device (device_memory.h). Callers hold the runtime's lock (runtime.cpp).
#include "device_memory.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "scheduler.h"

namespace jetpinn::emu {
namespace {

constexpr std::size_t ALIGN = 256;              // cudaMalloc's alignment
constexpr std::size_t HUGE_PAGE = std::size_t(2) << 20;  // toggling protection on huge pages is ~100x cheaper

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }


// The reserved range: [g_base, g_base + g_reserved), of which [g_base, g_base + g_top) has been handed out.
unsigned char* g_base = nullptr;
std::size_t g_reserved = 0, g_top = 0;
std::map<std::size_t, std::size_t> g_free;  // offset -> bytes of released spans, coalesced
int g_work_depth = 0;
std::size_t g_open_extent = 0;  // what the outermost DeviceWork made accessible
bool g_reserve_tried = false;
struct sigaction g_previous_segv;

bool inside(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return g_base && b >= g_base && b < g_base + g_reserved;
}

// Async-signal-safe output: write(2) of a fixed buffer.
void put(char*& at, const char* end, const char* s) {
  while (*s && at < end) *at++ = *s++;
}
void put_hex(char*& at, const char* end, std::uintptr_t v) {
  char digits[2 * sizeof v];
  int n = 0;
  do digits[n++] = "0123456789abcdef"[v % 16], v /= 16;
  while (v);
  put(at, end, "0x");
  while (n && at < end) *at++ = digits[--n];
}

void on_segv(int, siginfo_t* info, void* context) {
  if (inside(info->si_addr) && g_work_depth == 0) {
    char line[320], *at = line;
    const char* end = line + sizeof line - 1;
    bool write = false;
#if defined(__x86_64__)
    write = (static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
    (void)context;
#endif
    put(at, end, "jetpinn-emu: the host ");
    put(at, end, write ? "wrote" : "read");
    put(at, end, " device memory at ");
    put_hex(at, end, reinterpret_cast<std::uintptr_t>(info->si_addr));
    put(at, end, " by pointer, outside a kernel, copy or memset: on a GPU that is an invalid access (use cudaMemcpy)\n");
    if (::write(2, line, static_cast<std::size_t>(at - line)) < 0) {
    }
  }
  // Hand the fault on: with the previous handler back, the faulting access runs again and reaches it (doctest's
  // report of the test case, or the default action).
  sigaction(SIGSEGV, &g_previous_segv, nullptr);
}

void install_fault_handler() {
  struct sigaction now {};
  sigaction(SIGSEGV, nullptr, &now);
  if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_segv) return;
  g_previous_segv = now;  // a test framework's handler, installed per test case, is the usual one
  struct sigaction ours {};
  ours.sa_sigaction = on_segv;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  sigaction(SIGSEGV, &ours, nullptr);
}

// Reserved once, inaccessible and uncommitted until handed out; smaller sizes when the address space is
// limited (ulimit -v). Without a range, allocations fall back to the heap, unprotected.
void reserve() {
  g_reserve_tried = true;
  for (std::size_t gib : {1024, 128, 16}) {
    const std::size_t bytes = gib << 30;
    void* p = mmap(nullptr, bytes + HUGE_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) continue;
    g_base = reinterpret_cast<unsigned char*>(round_up(reinterpret_cast<std::uintptr_t>(p), HUGE_PAGE));
    g_reserved = bytes;
    madvise(g_base, g_reserved, MADV_HUGEPAGE);
    return;
  }
}

std::size_t span_of(std::size_t bytes) { return 2 * DEVICE_GUARD_BYTES + round_up(bytes, ALIGN); }
std::size_t extent() { return round_up(g_top, HUGE_PAGE); }

}  // namespace

DeviceRange reserved_device_range() {
  if (!g_reserve_tried) reserve();
  return DeviceRange{g_base, g_base ? g_reserved : 0};
}

bool device_memory_protected() {
  if (!g_reserve_tried) reserve();
  return g_base != nullptr;
}

void* device_allocate(std::size_t bytes) {
  if (!device_memory_protected()) {
    void* q = nullptr;
    if (posix_memalign(&q, ALIGN, bytes + 2 * DEVICE_GUARD_BYTES) != 0) return nullptr;
    return static_cast<unsigned char*>(q) + DEVICE_GUARD_BYTES;
  }
  install_fault_handler();
  const std::size_t span = span_of(bytes);
  std::size_t at = g_top;
  auto it = g_free.begin();
  while (it != g_free.end() && it->second < span) ++it;  // first fit
  if (it != g_free.end()) {
    at = it->first;
    if (it->second > span) g_free[at + span] = it->second - span;
    g_free.erase(it);
  } else {
    if (g_top + span > g_reserved) return nullptr;
    g_top += span;
  }
  return g_base + at + DEVICE_GUARD_BYTES;
}

void device_release(void* p, std::size_t bytes) {
  auto* begin = static_cast<unsigned char*>(p) - DEVICE_GUARD_BYTES;
  if (!inside(p)) {
    std::free(begin);
    return;
  }
  std::size_t at = static_cast<std::size_t>(begin - g_base), span = span_of(bytes);
  auto next = g_free.lower_bound(at);
  if (next != g_free.end() && next->first == at + span) {
    span += next->second;
    next = g_free.erase(next);
  }
  if (next != g_free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == at) {
      at = prev->first;
      span += prev->second;
      g_free.erase(prev);
    }
  }
  if (at + span == g_top) g_top = at;  // the top span returns to the unused range
  else g_free[at] = span;
}

DeviceWork::DeviceWork() {
  if (g_work_depth++ != 0 || !g_base) return;
  g_open_extent = extent();
  if (g_open_extent > 0 && mprotect(g_base, g_open_extent, PROT_READ | PROT_WRITE) != 0) {
    std::perror("jetpinn-emu: mprotect of device memory");
    std::abort();
  }
}

DeviceWork::~DeviceWork() {
  if (--g_work_depth != 0 || !g_base) return;
  if (g_open_extent > 0) mprotect(g_base, g_open_extent, PROT_NONE);
  install_fault_handler();  // a test framework may have put its own back since the allocation
}

}  // namespace jetpinn::emu
