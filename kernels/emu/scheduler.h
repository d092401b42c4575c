// The emulated device's block scheduler (scheduler.cpp) as the checks see it: the running thread's state, its
// block's barrier epoch and warp clocks. Shared by scheduler.cpp and shared_check.cpp only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_runtime.h"

namespace jetpinn::emu {

// One emulated thread while its block runs.
struct EmuThread {
  int index = 0;            // linear thread index in the block
  int lane = 0, warp = 0;   // index % 32, index / 32
  std::uint32_t clock[32];  // vector clock over the lanes of its warp (__syncwarp orders memory between lanes)
};

// The block being run: what the shared-memory checks need.
struct BlockState {
  const char* kernel = "";
  uint3 block_idx{0, 0, 0};
  dim3 block_dim{};
  std::uint32_t generation = 0;   // new for every block: shared memory starts unwritten
  std::uint32_t barrier_epoch = 0;  // __syncthreads passed so far in this block
  std::size_t dynamic_bytes = 0;  // the launch's dynamic shared memory
};

// constinit: no dynamic initialisation, so reading them is a plain thread-pointer load (no TLS wrapper call).
extern constinit thread_local EmuThread* t_thread;  // null outside a kernel
extern constinit thread_local BlockState* t_block;

// "kernel K block (x,y,z) thread (x,y,z)": how every finding names where it happened.
std::string where(const BlockState& b, int thread_index);

// Shared memory the checks shadow: the program's static data (where static __shared__ variables live) and the
// dynamic area inside it.
unsigned char* shared_begin();
unsigned char* shared_end();
unsigned char* shared_dynamic_area();  // DYNAMIC_SHARED_CAPACITY bytes inside [shared_begin, shared_end)
constexpr std::size_t DYNAMIC_SHARED_CAPACITY = 227 * 1024;  // sm_90's per-block maximum

// Live device allocations sorted by address (runtime.cpp keeps it; stable while kernels run). Outside
// AddressSanitizer builds each has DEVICE_GUARD_BYTES of guard on either side that no allocation uses, so a
// kernel's access there is out of bounds for certain.
struct DeviceRange {
  const unsigned char* begin;
  std::size_t bytes;
};
const std::vector<DeviceRange>& device_ranges();
// The whole reserved range device memory comes from (device_memory.cpp); {nullptr, 0} when there is none.
DeviceRange reserved_device_range();
constexpr std::size_t DEVICE_GUARD_BYTES = 256;

// Called by the scheduler at each block start (resets nothing: a new generation makes every byte unwritten).
void shared_check_begin_block(BlockState& block);

}  // namespace jetpinn::emu
