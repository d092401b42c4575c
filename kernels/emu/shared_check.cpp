// Shared-memory checks of the emulated device, racecheck-style, on every load and store the kernels make.
// The kernels' translation units are compiled with -fsanitize=thread for its instrumentation only: the
// compiler calls __tsan_read4(addr) and friends, and this file (not libtsan, which is never linked) defines
// them. Outside a kernel, or outside the shared section, a call returns at once. Per shared word the shadow
// keeps the last writer and last reader with the barrier epoch and warp clock of the access:
// - a read or write ordered after a write or read of another thread by neither a __syncthreads nor a
//   __syncwarp of both is a race (RAW, WAW, WAR), as racecheck reports hazards;
// - a read of a byte no thread of the block has written is a read of uninitialised shared memory;
// - an access into the dynamic area past the launch's byte count is out of bounds.
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "device_memory.h"
#include "emu.h"
#include "scheduler.h"

namespace jetpinn::emu {
namespace {

// On a GPU, kernel code can write static storage only as __shared__ (the backend has no __device__ variables),
// so every kernel access to the program's writable static data (.data and .bss, where __shared__ variables and
// this dynamic area live) is a shared-memory access.
alignas(256) unsigned char g_dynamic_area[DYNAMIC_SHARED_CAPACITY];

constexpr std::uint16_t NOBODY = 0xffff;
struct ByteShadow {
  std::uint32_t generation;  // the block that wrote it; another block's value (or 0) is unwritten
  std::uint16_t writer, reader;
  std::uint32_t write_epoch, write_clock;
  std::uint32_t read_epoch, read_clock;
};

// One shadow entry per 4-byte word (the kernels' shared accesses are 4, 8 or 16 bytes, aligned) of the whole
// static area, mapped once and untouched until used: kernels use a few KB of an area that may be megabytes
// long, and a zero page reads as generation 0, unwritten.
constexpr std::size_t WORD = 4;
ByteShadow* g_shadow = nullptr;
std::size_t g_shadow_words = 0;
ByteShadow& shadow_of(std::size_t word) { return g_shadow[word]; }

// The bounds every access is sorted by, set at the first block (shared_check_begin_block): most of a
// kernel's accesses are to its own stack, its coordinates or its parameters, and leave after two compares.
std::uintptr_t g_shared_lo = 0, g_shared_bytes = 0;  // [shared_begin, shared_end)
std::uintptr_t g_device_lo = 0, g_device_bytes = 0;  // the reserved device range (device_memory.h)
std::uint32_t g_generation = 0;
// Per block, at most a few reports of each kind, so a race is not hidden behind uninitialised reads.
enum Kind { RACE, UNINITIALISED, BOUNDS, KINDS };
std::uint32_t g_reports_this_block[KINDS] = {};
constexpr std::uint32_t MAX_REPORTS_PER_BLOCK = 3;

// Whether an access by thread `other` at (epoch, clock) happens before the current thread's access now.
bool ordered(const BlockState& b, const EmuThread& me, std::uint16_t other, std::uint32_t epoch, std::uint32_t clock) {
  if (other == me.index) return true;
  if (epoch < b.barrier_epoch) return true;
  if (other / 32 == me.warp && me.clock[other % 32] >= clock) return true;
  return false;
}

void finding(Kind kind, const BlockState& b, const EmuThread& me, const std::string& what, const unsigned char* p) {
  if (++g_reports_this_block[kind] > MAX_REPORTS_PER_BLOCK) return;
  const long offset = static_cast<long>(p - g_dynamic_area);
  const bool dynamic = p >= g_dynamic_area && p < g_dynamic_area + DYNAMIC_SHARED_CAPACITY;
  report(where(b, me.index) + ": " + what + " at " +
         (dynamic ? "dynamic shared byte " + std::to_string(offset) : "static shared byte " + std::to_string(p - shared_begin())));
}

// Global memory: a kernel's access into the device range (device_memory.h) must lie inside one live
// allocation; one that reaches into a guard, freed memory or a gap is out of bounds. Accesses elsewhere (the
// thread's stack, kernel parameters, host constants) are not device memory and pass.
// A few recently hit allocations, checked before the search: kernels stream through a handful of arrays.
constexpr int RECENT = 4;
bool g_device_memory_protected = false;  // device_memory_protected(), from the first block on
thread_local DeviceRange t_recent[RECENT] = {};
thread_local int t_recent_next = 0;
[[gnu::noinline]] void global_access(const unsigned char* p, std::size_t size, bool write) {
  const EmuThread* me = t_thread;
  const BlockState* b = t_block;
  if (!me || !b) return;
  const bool device = reinterpret_cast<std::uintptr_t>(p) - g_device_lo < g_device_bytes;
  for (const DeviceRange& d : t_recent)
    if (p >= d.begin && p + size <= d.begin + d.bytes) return;
  const std::vector<DeviceRange>& r = device_ranges();
  auto it = std::upper_bound(r.begin(), r.end(), p, [](const unsigned char* q, const DeviceRange& d) { return q < d.begin; });
  // The allocation at or before p, and the one after it: p may sit in the guard past the first or before the second.
  std::string defect;
  if (it != r.begin() && p + size <= (it - 1)->begin + (it - 1)->bytes) {
    t_recent[t_recent_next] = *(it - 1);
    t_recent_next = (t_recent_next + 1) % RECENT;
    return;
  }
  if (it != r.begin() && p < (it - 1)->begin + (it - 1)->bytes + DEVICE_GUARD_BYTES)
    defect = " of " + std::to_string(size) + " bytes at offset " + std::to_string(p - (it - 1)->begin) +
             ", past the end of a device allocation of " + std::to_string((it - 1)->bytes) + " bytes";
  else if (it != r.end() && p + DEVICE_GUARD_BYTES >= it->begin)
    defect = " " + std::to_string(it->begin - p) + " bytes before the start of a device allocation of " +
             std::to_string(it->bytes) + " bytes";
  else if (device)
    defect = " of " + std::to_string(size) + " bytes in device memory no live allocation holds (freed, or never allocated)";
  if (!defect.empty() && ++g_reports_this_block[BOUNDS] <= MAX_REPORTS_PER_BLOCK)
    report(where(*b, me->index) + ": global " + (write ? "write" : "read") + defect);
}

// The reports, out of line and cold: the check below stays a short loop with no strings in its frame.
[[gnu::cold, gnu::noinline]] void report_dynamic_bounds(const BlockState& b, const EmuThread& me,
                                                        const unsigned char* p, std::size_t size, bool write) {
  finding(BOUNDS, b, me,
          std::string(write ? "write" : "read") + " of " + std::to_string(size) +
              " bytes past the launch's dynamic shared memory (" + std::to_string(b.dynamic_bytes) + " bytes)",
          p);
}
[[gnu::cold, gnu::noinline]] void report_uninitialised(const BlockState& b, const EmuThread& me, const unsigned char* p) {
  finding(UNINITIALISED, b, me, "read of uninitialised shared memory (no thread of the block wrote it)", p);
}
// hazard: "read after write" and so on; other_did: what the other thread did to the byte ("wrote", "read").
[[gnu::cold, gnu::noinline]] void report_race(const BlockState& b, const EmuThread& me, const char* hazard,
                                              std::uint16_t other, const char* other_did, const unsigned char* p) {
  finding(RACE, b, me, std::string("shared-memory race (") + hazard + "): thread " + std::to_string(other) + " " +
                           other_did + " this byte with no __syncthreads or __syncwarp between", p);
}

[[gnu::noinline]] void shared_access(const unsigned char* p, std::size_t size, bool write) {
  const EmuThread* me = t_thread;
  const BlockState* b = t_block;
  if (!me || !b) return;  // host code of an instrumented file, outside a kernel
  if (p >= g_dynamic_area && p < g_dynamic_area + DYNAMIC_SHARED_CAPACITY &&
      static_cast<std::size_t>(p + size - g_dynamic_area) > b->dynamic_bytes) [[unlikely]] {
    report_dynamic_bounds(*b, *me, p, size, write);
    return;
  }
  const std::size_t offset = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(p) - g_shared_lo);
  const std::size_t first = offset / WORD;
  const std::size_t last = std::min((offset + size - 1) / WORD, g_shadow_words - 1);
  const std::uint32_t clock = me->clock[me->lane];
  const std::uint32_t generation = g_generation;
  const auto tid = static_cast<std::uint16_t>(me->index);
  for (std::size_t w = first; w <= last; ++w) {
    const unsigned char* at = p + (w - first) * WORD;
    ByteShadow& s = shadow_of(w);
    const bool written = s.generation == generation && s.writer != NOBODY;
    if (s.generation != generation) s = ByteShadow{generation, NOBODY, NOBODY, 0, 0, 0, 0};
    if (!write) {
      if (!written) [[unlikely]] {
        // Reported, and kept as a read: a later unordered write of another thread is a race as well.
        report_uninitialised(*b, *me, at);
      } else if (!ordered(*b, *me, s.writer, s.write_epoch, s.write_clock)) [[unlikely]] {
        report_race(*b, *me, "read after write", s.writer, "wrote", at);
        return;
      }
      // Keep the reader the next write must be ordered after: replace it only when the old one is ordered.
      if (s.reader == NOBODY || ordered(*b, *me, s.reader, s.read_epoch, s.read_clock)) {
        s.reader = tid;
        s.read_epoch = b->barrier_epoch;
        s.read_clock = clock;
      }
    } else {
      if (written && !ordered(*b, *me, s.writer, s.write_epoch, s.write_clock)) [[unlikely]] {
        report_race(*b, *me, "write after write", s.writer, "wrote", at);
        return;
      }
      if (s.reader != NOBODY && !ordered(*b, *me, s.reader, s.read_epoch, s.read_clock)) [[unlikely]] {
        report_race(*b, *me, "write after read", s.reader, "read", at);
        return;
      }
      s.writer = tid;
      s.write_epoch = b->barrier_epoch;
      s.write_clock = clock;
      s.reader = NOBODY;
    }
  }
}

// Every load and store of a kernel: shared memory is checked word by word; device memory against the live
// allocations, and so is everything while device memory is unprotected (heap allocations); the rest (the
// thread's stack, its coordinates, kernel parameters, host constants) is not device memory and passes.
inline void access(const void* addr, std::size_t size, bool write) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  const auto* p = static_cast<const unsigned char*>(addr);
  if (a - g_shared_lo < g_shared_bytes) return shared_access(p, size, write);
  if (a - g_device_lo < g_device_bytes || !g_device_memory_protected) return global_access(p, size, write);
}

}  // namespace

}  // namespace jetpinn::emu
extern "C" {
extern unsigned char __data_start[];  // the linker's bounds of the executable's .data and .bss
extern unsigned char _end[];
}
namespace jetpinn::emu {
unsigned char* shared_begin() { return __data_start; }
unsigned char* shared_end() { return _end; }
unsigned char* shared_dynamic_area() { return g_dynamic_area; }

void shared_check_begin_block(BlockState& block) {
  if (!g_shadow) {
    g_shared_lo = reinterpret_cast<std::uintptr_t>(shared_begin());
    g_shared_bytes = reinterpret_cast<std::uintptr_t>(shared_end()) - g_shared_lo;
    g_shadow_words = (g_shared_bytes + WORD - 1) / WORD;
    void* m = mmap(nullptr, g_shadow_words * sizeof(ByteShadow), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
      std::fprintf(stderr, "jetpinn-emu: cannot map the shared-memory shadow\n");
      std::abort();
    }
    g_shadow = static_cast<ByteShadow*>(m);
    // Reserved once for the process (device_memory.cpp), so fixed from here on.
    g_device_memory_protected = device_memory_protected();
    const DeviceRange reserved = reserved_device_range();
    g_device_lo = reinterpret_cast<std::uintptr_t>(reserved.begin);
    g_device_bytes = reserved.bytes;
  }
  if (++g_generation == 0) {  // wrapped: forget every word explicitly once (fresh zero pages)
    madvise(g_shadow, g_shadow_words * sizeof(ByteShadow), MADV_DONTNEED);
    g_generation = 1;
  }
  block.generation = g_generation;
  for (std::uint32_t& n : g_reports_this_block) n = 0;
  for (DeviceRange& d : t_recent) d = DeviceRange{nullptr, 0};  // allocations may have changed since
}

}  // namespace jetpinn::emu

// The instrumentation's entry points (GCC's -fsanitize=thread ABI). Only memory accesses matter here; function
// entry/exit and the atomics keep their plain meaning.
using jetpinn::emu::access;
extern "C" {
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
#define JETPINN_EMU_RW(n)                                                         \
  void __tsan_read##n(void* p) { access(p, n, false); }                           \
  void __tsan_write##n(void* p) { access(p, n, true); }                           \
  void __tsan_unaligned_read##n(void* p) { access(p, n, false); }                 \
  void __tsan_unaligned_write##n(void* p) { access(p, n, true); }                 \
  void __tsan_volatile_read##n(void* p) { access(p, n, false); }                  \
  void __tsan_volatile_write##n(void* p) { access(p, n, true); }                  \
  void __tsan_unaligned_volatile_read##n(void* p) { access(p, n, false); }        \
  void __tsan_unaligned_volatile_write##n(void* p) { access(p, n, true); }
JETPINN_EMU_RW(1)
JETPINN_EMU_RW(2)
JETPINN_EMU_RW(4)
JETPINN_EMU_RW(8)
JETPINN_EMU_RW(16)
#undef JETPINN_EMU_RW
void __tsan_read_range(void* p, unsigned long n) { access(p, n, false); }
void __tsan_write_range(void* p, unsigned long n) { access(p, n, true); }
void __tsan_vptr_read(void**) {}
void __tsan_vptr_update(void**, void*) {}
}

// Atomics in the instrumented translation units (libstdc++'s reference counts, say) keep their meaning: the
// emulated device runs them on the host, sequentially consistent.
#define JETPINN_EMU_ATOMICS(bits, type)                                                                          \
  type __tsan_atomic##bits##_load(const volatile type* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); } \
  void __tsan_atomic##bits##_store(volatile type* a, type v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); } \
  type __tsan_atomic##bits##_exchange(volatile type* a, type v, int) {                                          \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                                         \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_add(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_sub(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_and(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_or(volatile type* a, type v, int) {                                          \
    return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                                           \
  }                                                                                                             \
  type __tsan_atomic##bits##_fetch_xor(volatile type* a, type v, int) {                                         \
    return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                             \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile type* a, type* c, type v, int, int) {              \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                     \
  }                                                                                                             \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile type* a, type* c, type v, int, int) {                \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                     \
  }                                                                                                             \
  type __tsan_atomic##bits##_compare_exchange_val(volatile type* a, type c, type v, int, int) {                 \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                           \
    return c;                                                                                                   \
  }
extern "C" {
JETPINN_EMU_ATOMICS(8, unsigned char)
JETPINN_EMU_ATOMICS(16, short)
JETPINN_EMU_ATOMICS(32, int)
JETPINN_EMU_ATOMICS(64, long)
void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
}
#undef JETPINN_EMU_ATOMICS
