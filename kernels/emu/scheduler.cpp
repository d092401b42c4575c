// The emulated device's launch: configuration checks, then every block in a seeded order, one block at a time;
// a block's threads are stackful fibers (Boost.Context) that run until they reach a barrier or a warp
// collective, in a seeded order that changes at every round. Warps are not in lockstep (independent thread
// scheduling, as on sm_70 and later): a lane waits only where the source says so. Barrier divergence,
// mismatched or abandoned collectives and reads of lanes that do not take part are findings (emu.h).
// Seed: JETPINN_EMU_SEED (default 1).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "emu.h"
#include "launch.h"
#include "scheduler.h"

// In an ASan build this file is compiled without ASan's instrumentation (it is the emulator's hot loop), but
// the process has ASan: JETPINN_EMU_ASAN (kernels/CMakeLists.txt) keeps the fiber annotations it needs.
#if defined(__SANITIZE_ADDRESS__) && !defined(JETPINN_EMU_ASAN)
#define JETPINN_EMU_ASAN 1
#endif
#if JETPINN_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace jetpinn::emu {

cudaError_t record_launch_error(cudaError_t e);  // runtime.cpp
int max_dynamic_shared_attribute(const void* func);

constinit thread_local ThreadCoords t_coords;
constinit thread_local EmuThread* t_thread = nullptr;
constinit thread_local BlockState* t_block = nullptr;

namespace {

namespace ctx = boost::context;

#if JETPINN_EMU_ASAN
constexpr std::size_t STACK_BYTES = std::size_t(512) << 10;  // per emulated thread; a guard page below
constexpr std::size_t ASAN_UNPOISONED_TOP = std::size_t(16) << 10;
#else
constexpr std::size_t STACK_BYTES = std::size_t(128) << 10;
#endif
constexpr std::size_t STACK_COLOURS = 31, COLOUR_BYTES = 16 * 64;  // stack tops offset so they do not share cache sets
constexpr std::size_t MAX_PARAM_BYTES = 32764;               // sm_70+ with CUDA 12.1+

// ---- fiber stacks: mmap'ed once, reused by every block --------------------------------------------------
class StackPool {
 public:
  ~StackPool() {
    for (const Free& f : m_free) munmap(f.base, STACK_BYTES);
  }
  std::size_t next_colour() { return m_colour = (m_colour + 1) % STACK_COLOURS; }
  void* take() {
    if (!m_free.empty()) {
      const Free f = m_free.back();
      m_free.pop_back();
#if JETPINN_EMU_ASAN
      // The outermost frames of a finished fiber end without returning (its last switch away): any redzones
      // they had stay poisoned in the shadow, and the next fiber on this stack would trip over them. They sit
      // just below the top the last fiber used; the kernels' own frames are not instrumented.
      __asan_unpoison_memory_region(static_cast<char*>(f.top) - ASAN_UNPOISONED_TOP, ASAN_UNPOISONED_TOP);
#endif
      return f.base;
    }
    void* p = mmap(nullptr, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "jetpinn-emu: cannot map a fiber stack\n");
      std::abort();
    }
    mprotect(p, static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), PROT_NONE);  // overflow faults, never corrupts
    return p;
  }
  void give(void* base, void* top) { m_free.push_back(Free{base, top}); }

 private:
  struct Free {
    void* base;  // the mapping
    void* top;   // where the last fiber on it started (below the colour offset)
  };
  std::vector<Free> m_free;
  std::size_t m_colour = 0;
};
StackPool& stack_pool() {
  static thread_local StackPool pool;
  return pool;
}
struct PooledStack {
  const void** bottom;  // where the stack's bounds are recorded (for AddressSanitizer's fiber annotations)
  ctx::stack_context allocate() {
    ctx::stack_context sc;
    void* base = stack_pool().take();
    *bottom = base;
    const std::size_t colour = stack_pool().next_colour() * COLOUR_BYTES;
    sc.size = STACK_BYTES - colour;
    sc.sp = static_cast<char*>(base) + sc.size;
    return sc;
  }
  void deallocate(ctx::stack_context& sc) noexcept { stack_pool().give(static_cast<char*>(sc.sp) - sc.size, sc.sp); }
};

// ---- seeded order ---------------------------------------------------------------------------------------
std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
std::uint64_t seed() {
  static const std::uint64_t s = [] {
    const char* e = std::getenv("JETPINN_EMU_SEED");
    return e && *e ? std::strtoull(e, nullptr, 10) : 1ull;
  }();
  return s;
}
template <class V>
void shuffle(V& v, std::uint64_t& state) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[splitmix(state) % i]);
}

// ---- one block ------------------------------------------------------------------------------------------
enum class Wait { Runnable, Syncthreads, Syncwarp, Shuffle, Done };
enum class ShuffleKind { Xor, Down, Index };

struct Slot {
  EmuThread t;
  uint3 idx{};
  ctx::fiber fiber;  // the thread's suspended context (empty once it has finished)
  ctx::fiber sched;  // the scheduler's context while the thread runs
  Wait wait = Wait::Runnable;
  EmuSite site;
  unsigned mask = 0;
  ShuffleKind kind = ShuffleKind::Xor;
  int operand = 0, width = 32, value_bytes = 0;
  std::uint64_t value = 0, result = 0;
  bool started = false;
  const void* stack_bottom = nullptr;
#if JETPINN_EMU_ASAN
  void* fake_stack = nullptr;
#endif
};

struct Block {
  BlockState state;
  std::vector<Slot> slots;
  bool failed = false;   // a finding that stops the launch (a deadlock)
  bool abandon = false;  // unwinding the threads of a failed block
  const std::function<void()>* body = nullptr;
#if JETPINN_EMU_ASAN
  const void* sched_bottom = nullptr;
  std::size_t sched_size = 0;
#endif
};
thread_local Block* t_running = nullptr;
struct AbandonBlock {};  // thrown at a thread's wait point to unwind it when its block has failed
thread_local Slot* t_slot = nullptr;

std::string site_text(const EmuSite& s) {
  const char* f = s.file_name();
  const char* base = std::strrchr(f, '/');
  return std::string(base ? base + 1 : f) + ":" + std::to_string(s.line());
}
std::string coords(uint3 v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

// Thread side: give control back to the scheduler until it resumes us.
void yield_to_scheduler() {
  Slot* s = t_slot;
#if JETPINN_EMU_ASAN
  __sanitizer_start_switch_fiber(&s->fake_stack, t_running->sched_bottom, t_running->sched_size);
#endif
  s->sched = std::move(s->sched).resume();
#if JETPINN_EMU_ASAN
  __sanitizer_finish_switch_fiber(s->fake_stack, &t_running->sched_bottom, &t_running->sched_size);
#endif
  if (t_running->abandon) throw AbandonBlock{};
}

// Scheduler side: run thread `s` until it waits or finishes.
void run_thread(Block& b, Slot& s) {
  t_slot = &s;
  t_thread = &s.t;
  t_coords.thread_idx = s.idx;
  if (!s.started) {
    s.started = true;
    s.fiber = ctx::fiber(std::allocator_arg, PooledStack{&s.stack_bottom}, [&b, &s](ctx::fiber&& sched) {
      s.sched = std::move(sched);
#if JETPINN_EMU_ASAN
      __sanitizer_finish_switch_fiber(nullptr, &b.sched_bottom, &b.sched_size);
#endif
      try {
        (*b.body)();
      } catch (const AbandonBlock&) {
      } catch (const ctx::detail::forced_unwind&) {
        throw;
      } catch (const std::exception& e) {
        report("kernel " + std::string(b.state.kernel) + " block " + coords(b.state.block_idx) + " thread " +
               coords(s.idx) + ": exception escaped the kernel: " + e.what());
        b.failed = true;
      }
      s.wait = Wait::Done;
#if JETPINN_EMU_ASAN
      __sanitizer_start_switch_fiber(nullptr, b.sched_bottom, b.sched_size);
#endif
      return std::move(s.sched);
    });
  }
#if JETPINN_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, s.stack_bottom, STACK_BYTES);
#endif
  s.fiber = std::move(s.fiber).resume();
#if JETPINN_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  t_slot = nullptr;
  t_thread = nullptr;
}

// Called on an emulated thread: wait here until the scheduler releases us.
Slot& current(const char* what) {
  if (!t_slot) {
    report(std::string(what) + " called outside a kernel");
    static Slot dummy;
    return dummy;
  }
  return *t_slot;
}

bool lane_exists(const Block& b, int warp, int lane) {
  return warp * 32 + lane < static_cast<int>(b.slots.size());
}

// Completes every warp collective whose named lanes have all arrived; reports collectives that cannot complete
// (a named lane waits elsewhere, or with another mask). Returns whether anything was released.
bool resolve_collectives(Block& b, std::uint64_t& order) {
  bool released = false;
  const int n = static_cast<int>(b.slots.size());
  static thread_local std::vector<char> done_here;  // reused: this runs after every round of a shuffle loop
  done_here.assign(n, 0);
  for (int i = 0; i < n && !b.failed; ++i) {
    Slot& s = b.slots[i];
    if ((s.wait != Wait::Syncwarp && s.wait != Wait::Shuffle) || done_here[i]) continue;
    const int warp = s.t.warp;
    bool ready = true;
    int group[32], group_size = 0;
    for (int l = 0; l < 32; ++l) {
      if (!(s.mask >> l & 1u)) continue;
      if (!lane_exists(b, warp, l)) continue;  // a lane past the block's end never arrives: treated as exited
      Slot& o = b.slots[warp * 32 + l];
      if (o.wait == Wait::Done) continue;  // exited lanes named in the mask are allowed
      if (o.wait == Wait::Runnable) {
        ready = false;
        break;
      }
      if (o.wait != s.wait || o.mask != s.mask || (s.wait == Wait::Shuffle && o.value_bytes != s.value_bytes)) {
        // Lane l can never take part in this collective: it waits at something else.
        ready = false;
        if (o.wait == Wait::Syncthreads) break;  // may be a deadlock: the block-level check names it
        report("kernel " + std::string(b.state.kernel) + " block " + coords(b.state.block_idx) + ": warp " +
               std::to_string(warp) + " lane " + std::to_string(s.t.lane) + " waits at " +
               (s.wait == Wait::Syncwarp ? "__syncwarp" : "a shuffle") + " (" + site_text(s.site) + ", mask 0x" +
               [&] { std::ostringstream h; h << std::hex << s.mask; return h.str(); }() + ") for lane " +
               std::to_string(l) + ", which waits at " +
               (o.wait == Wait::Syncwarp ? "__syncwarp" : "a shuffle") + " (" + site_text(o.site) + ") with mask 0x" +
               [&] { std::ostringstream h; h << std::hex << o.mask; return h.str(); }());
        b.failed = true;
        break;
      }
      group[group_size++] = warp * 32 + l;
    }
    if (!ready) continue;
    // Lanes of this warp waiting at a collective with another mask that overlaps this one: the documented
    // requirement (every lane named in a mask executes the same collective with the same mask) is broken.
    for (int l = 0; l < 32 && !b.failed; ++l) {
      if (!lane_exists(b, warp, l)) continue;
      const Slot& o = b.slots[warp * 32 + l];
      if ((o.wait == Wait::Syncwarp || o.wait == Wait::Shuffle) && o.mask != s.mask && (o.mask & s.mask)) {
        report("kernel " + std::string(b.state.kernel) + " block " + coords(b.state.block_idx) + ": warp " +
               std::to_string(warp) + " lane " + std::to_string(s.t.lane) + " (" + site_text(s.site) + ", mask 0x" +
               [&] { std::ostringstream h; h << std::hex << s.mask; return h.str(); }() + ") and lane " +
               std::to_string(l) + " (" + site_text(o.site) + ") meet at warp collectives with mask 0x" +
               [&] { std::ostringstream h; h << std::hex << o.mask; return h.str(); }());
        b.failed = true;
      }
    }
    if (b.failed) break;
    if (s.wait == Wait::Syncwarp) {
      // Memory ordering among the participants: join their vector clocks, then each advances its own.
      std::uint32_t joined[32] = {};
      for (int gi = 0; gi < group_size; ++gi)
        for (int l = 0; l < 32; ++l) joined[l] = std::max(joined[l], b.slots[group[gi]].t.clock[l]);
      for (int gi = 0; gi < group_size; ++gi) {
        const int g = group[gi];
        std::memcpy(b.slots[g].t.clock, joined, sizeof joined);
        ++b.slots[g].t.clock[b.slots[g].t.lane];
      }
    } else {
      for (int gi = 0; gi < group_size; ++gi) {
        Slot& p = b.slots[group[gi]];
        const int lane = p.t.lane, base = lane / p.width * p.width;
        int src = lane;
        if (p.kind == ShuffleKind::Xor) src = lane ^ p.operand;
        else if (p.kind == ShuffleKind::Down) src = lane + p.operand;
        else src = base + (p.operand % p.width);
        if (src >= base + p.width || src < base) src = lane;  // outside the segment: own value, as documented
        const bool takes_part = lane_exists(b, warp, src) && (s.mask >> src & 1u) &&
                                b.slots[warp * 32 + src].wait == Wait::Shuffle;
        if (!takes_part) {
          report("kernel " + std::string(b.state.kernel) + " block " + coords(b.state.block_idx) + " thread " +
                 coords(p.idx) + ": shuffle at " + site_text(p.site) + " reads lane " + std::to_string(src) +
                 ", which does not take part (not in the mask, or exited): the value is undefined");
          p.result = p.value;
        } else {
          p.result = b.slots[warp * 32 + src].value;
        }
      }
    }
    for (int gi = 0; gi < group_size; ++gi) {
      done_here[group[gi]] = 1;
      b.slots[group[gi]].wait = Wait::Runnable;
    }
    released = true;
  }
  (void)order;
  return released;
}

bool same_site(const EmuSite& a, const EmuSite& b) {
  return a.line() == b.line() && a.column() == b.column() &&
         (a.file_name() == b.file_name() || std::strcmp(a.file_name(), b.file_name()) == 0);
}

// When every live thread waits at __syncthreads at the same place, releases them all; otherwise, with nothing
// runnable, reports why the block cannot go on.
bool resolve_barrier(Block& b) {
  int at_barrier = 0, exited = 0, at_warp = 0;
  const Slot* first = nullptr;
  const Slot* other_site = nullptr;
  for (const Slot& s : b.slots) {
    if (s.wait == Wait::Done) ++exited;
    else if (s.wait == Wait::Syncthreads) {
      ++at_barrier;
      if (!first) first = &s;
      else if (!other_site && !same_site(s.site, first->site))
        other_site = &s;
    } else if (s.wait != Wait::Runnable) ++at_warp;
  }
  const std::string head = "kernel " + std::string(b.state.kernel) + " block " + coords(b.state.block_idx) + ": ";
  if (at_barrier > 0 && at_warp == 0 && exited == 0 && !other_site) {
    for (Slot& s : b.slots) s.wait = Wait::Runnable;
    ++b.state.barrier_epoch;
    return true;
  }
  if (b.failed) return false;
  if (at_barrier > 0 && other_site) {
    report(head + "barrier divergence: thread " + coords(first->idx) + " waits at __syncthreads (" +
           site_text(first->site) + ") while thread " + coords(other_site->idx) + " waits at another __syncthreads (" +
           site_text(other_site->site) + ")");
  } else if (at_barrier > 0 && at_warp == 0) {
    report(head + "barrier divergence: " + std::to_string(at_barrier) + " thread(s), e.g. " + coords(first->idx) +
           ", wait at __syncthreads (" + site_text(first->site) + ") while " + std::to_string(exited) +
           " thread(s) of the block exited");
  } else {
    for (const Slot& s : b.slots)
      if (s.wait == Wait::Syncwarp || s.wait == Wait::Shuffle) {
        report(head + "deadlock: thread " + coords(s.idx) + " waits at " +
               (s.wait == Wait::Syncwarp ? "__syncwarp" : "a shuffle") + " (" + site_text(s.site) +
               ") for lanes of its mask that wait at __syncthreads" +
               (first ? " (" + site_text(first->site) + ")" : std::string()) + " and never arrive");
        break;
      }
  }
  b.failed = true;
  return false;
}

void run_block(Block& b, std::uint64_t order_state) {
  shared_check_begin_block(b.state);
  const int n = static_cast<int>(b.slots.size());
  std::vector<int> order(n);
  while (!b.failed) {
    order.clear();
    for (int i = 0; i < n; ++i)
      if (b.slots[i].wait == Wait::Runnable) order.push_back(i);
    if (!order.empty()) {
      shuffle(order, order_state);
      for (int i : order) {
        if (b.slots[i].wait != Wait::Runnable) continue;
        run_thread(b, b.slots[i]);
        if (b.failed) break;
      }
      continue;
    }
    bool all_done = true;
    for (const Slot& s : b.slots) all_done = all_done && s.wait == Wait::Done;
    if (all_done) break;
    if (resolve_collectives(b, order_state)) continue;
    if (!resolve_barrier(b)) break;
  }
  // Threads still suspended (a failed block) are resumed once more to unwind their stacks.
  b.abandon = true;
  for (Slot& s : b.slots)
    if (s.started && s.wait != Wait::Done) run_thread(b, s);
  b.abandon = false;
}

std::string dim_text(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

// Configuration checks the runtime makes at launch: a failing one is the launch's error.
bool config_ok(const LaunchConfig& c) {
  const std::string head = std::string("launch of ") + c.name + ": ";
  const unsigned long long threads = 1ull * c.block.x * c.block.y * c.block.z;
  if (c.block.x == 0 || c.block.y == 0 || c.block.z == 0 || c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 ||
      threads > 1024 || c.block.x > 1024 || c.block.y > 1024 || c.block.z > 64 || c.grid.x > 2147483647u ||
      c.grid.y > 65535 || c.grid.z > 65535) {
    report(head + "block " + dim_text(c.block) + " grid " + dim_text(c.grid) +
           " is outside sm_90's limits (at most 1024 threads a block, block (1024,1024,64), grid (2^31-1,65535,65535))");
    record_launch_error(cudaErrorInvalidConfiguration);
    return false;
  }
  if (c.smem > 48 * 1024) {
    const int allowed = max_dynamic_shared_attribute(c.func);
    if (c.smem > DYNAMIC_SHARED_CAPACITY || c.smem > static_cast<std::size_t>(allowed)) {
      report(head + std::to_string(c.smem) + " bytes of dynamic shared memory: above 48 KB needs cudaFuncSetAttribute(" +
             "cudaFuncAttributeMaxDynamicSharedMemorySize) (set to " + std::to_string(allowed) +
             "), and sm_90 allows at most " + std::to_string(DYNAMIC_SHARED_CAPACITY));
      record_launch_error(cudaErrorInvalidValue);
      return false;
    }
  }
  if (c.param_bytes > MAX_PARAM_BYTES) {
    report(head + "kernel parameters of " + std::to_string(c.param_bytes) + " bytes exceed the " +
           std::to_string(MAX_PARAM_BYTES) + "-byte limit");
    record_launch_error(cudaErrorInvalidValue);
    return false;
  }
  return true;
}

std::uint64_t g_launches = 0;

}  // namespace

std::string where(const BlockState& b, int thread_index) {
  const unsigned bx = b.block_dim.x, by = b.block_dim.y;
  const uint3 t{thread_index % bx, thread_index / bx % by, thread_index / (bx * by)};
  return "kernel " + std::string(b.kernel) + " block " + coords(b.block_idx) + " thread " + coords(t);
}

unsigned char* dynamic_shared() {
  if (!t_block) {
    report("dynamic shared memory used outside a kernel");
    return nullptr;
  }
  return shared_dynamic_area();
}

void launch(const LaunchConfig& c, std::function<void()> thread_body) {
  announce();
  if (!config_ok(c)) return;
  const cudaError_t e = enqueue(
      c.stream,
      [c, body = std::move(thread_body)] {
        if (t_block) {
          report(std::string("launch of ") + c.name + " from inside a kernel (dynamic parallelism is not used here)");
          return;
        }
        std::uint64_t state = seed() * 0x2545f4914f6cdd1dull + (++g_launches);
        const unsigned long long nblocks = 1ull * c.grid.x * c.grid.y * c.grid.z;
        const int nthreads = static_cast<int>(c.block.x * c.block.y * c.block.z);
        // Block order: a seeded permutation for small grids, a seeded rotation and direction for large ones.
        std::vector<unsigned long long> blocks;
        const bool permute = nblocks <= (1u << 16);
        if (permute) {
          blocks.resize(nblocks);
          for (unsigned long long i = 0; i < nblocks; ++i) blocks[i] = i;
          shuffle(blocks, state);
        }
        const unsigned long long rot = splitmix(state) % nblocks;
        const bool backwards = splitmix(state) & 1;
        Block b;
        b.body = &body;
        b.state.kernel = c.name;
        b.state.block_dim = c.block;
        b.state.dynamic_bytes = c.smem;
        t_coords.block_dim = c.block;
        t_coords.grid_dim = c.grid;
        for (unsigned long long k = 0; k < nblocks; ++k) {
          unsigned long long id = permute ? blocks[k] : (backwards ? nblocks - 1 - (k + rot) % nblocks : (k + rot) % nblocks);
          const uint3 bi{static_cast<unsigned>(id % c.grid.x), static_cast<unsigned>(id / c.grid.x % c.grid.y),
                         static_cast<unsigned>(id / (1ull * c.grid.x * c.grid.y))};
          b.state.block_idx = bi;
          b.state.barrier_epoch = 0;
          b.failed = false;
          b.abandon = false;
          b.slots.clear();
          b.slots.resize(nthreads);
          for (int i = 0; i < nthreads; ++i) {
            Slot& s = b.slots[i];
            s.t.index = i;
            s.t.lane = i % 32;
            s.t.warp = i / 32;
            std::memset(s.t.clock, 0, sizeof s.t.clock);
            s.t.clock[s.t.lane] = 1;
            s.idx = uint3{i % c.block.x, i / c.block.x % c.block.y, i / (c.block.x * c.block.y)};
          }
          t_coords.block_idx = bi;
          t_block = &b.state;
          t_running = &b;
          run_block(b, state ^ (id * 0x9e3779b97f4a7c15ull));
          t_block = nullptr;
          t_running = nullptr;
          if (b.failed) break;  // like a trap: the rest of the grid does not run
        }
      },
      c.name);
  if (e != cudaSuccess) record_launch_error(e);
}

}  // namespace jetpinn::emu

using namespace jetpinn::emu;

void __syncthreads(EmuSite site) {
  Slot& s = current("__syncthreads");
  if (!t_slot) return;
  s.wait = Wait::Syncthreads;
  s.site = site;
  yield_to_scheduler();
}

void __syncwarp(unsigned mask, EmuSite site) {
  Slot& s = current("__syncwarp");
  if (!t_slot) return;
  if (!(mask >> s.t.lane & 1u))
    report(where(*t_block, s.t.index) + ": __syncwarp (" + site_text(site) + ") with a mask that leaves out the calling lane");
  s.wait = Wait::Syncwarp;
  s.mask = mask | (1u << s.t.lane);
  s.site = site;
  yield_to_scheduler();
}

namespace {
template <class T>
T shuffle_op(const char* name, unsigned mask, T v, int operand, int width, ShuffleKind kind, EmuSite site) {
  Slot& s = current(name);
  if (!t_slot) return v;
  if (!(mask >> s.t.lane & 1u))
    report(where(*t_block, s.t.index) + ": " + name + " (" + site_text(site) + ") with a mask that leaves out the calling lane");
  if (width <= 0 || width > 32 || (width & (width - 1)))
    report(where(*t_block, s.t.index) + ": " + name + " (" + site_text(site) + ") width " + std::to_string(width) +
           " is not a power of two in [1, 32]");
  s.wait = Wait::Shuffle;
  s.mask = mask | (1u << s.t.lane);
  s.kind = kind;
  s.operand = operand;
  s.width = width > 0 && width <= 32 ? width : 32;
  s.value_bytes = sizeof(T);
  s.site = site;
  s.value = 0;
  std::memcpy(&s.value, &v, sizeof(T));
  yield_to_scheduler();
  T r;
  std::memcpy(&r, &s.result, sizeof(T));
  return r;
}
}  // namespace

float __shfl_xor_sync(unsigned m, float v, int x, int w, EmuSite s) { return shuffle_op("__shfl_xor_sync", m, v, x, w, ShuffleKind::Xor, s); }
double __shfl_xor_sync(unsigned m, double v, int x, int w, EmuSite s) { return shuffle_op("__shfl_xor_sync", m, v, x, w, ShuffleKind::Xor, s); }
int __shfl_xor_sync(unsigned m, int v, int x, int w, EmuSite s) { return shuffle_op("__shfl_xor_sync", m, v, x, w, ShuffleKind::Xor, s); }
unsigned __shfl_xor_sync(unsigned m, unsigned v, int x, int w, EmuSite s) { return shuffle_op("__shfl_xor_sync", m, v, x, w, ShuffleKind::Xor, s); }
float __shfl_down_sync(unsigned m, float v, unsigned d, int w, EmuSite s) { return shuffle_op("__shfl_down_sync", m, v, static_cast<int>(d), w, ShuffleKind::Down, s); }
double __shfl_down_sync(unsigned m, double v, unsigned d, int w, EmuSite s) { return shuffle_op("__shfl_down_sync", m, v, static_cast<int>(d), w, ShuffleKind::Down, s); }
float __shfl_sync(unsigned m, float v, int l, int w, EmuSite s) { return shuffle_op("__shfl_sync", m, v, l, w, ShuffleKind::Index, s); }
double __shfl_sync(unsigned m, double v, int l, int w, EmuSite s) { return shuffle_op("__shfl_sync", m, v, l, w, ShuffleKind::Index, s); }
