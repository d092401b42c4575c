// Device memory of the emulated device: where cudaMalloc's bytes live, and who may touch them.
// Every allocation comes from one reserved address range that is inaccessible (PROT_NONE) except while stream
// work runs (a kernel, a copy, a memset, a cuBLAS call), so host code that reads or writes device memory by
// pointer faults, as it would on a GPU, and the fault handler names it. Kernels' accesses into the range are
// checked against the live allocations (shared_check.cpp): guards, freed memory and gaps are out of bounds.
#pragma once
#include <cstddef>

namespace jetpinn::emu {

// `bytes` (> 0) of device memory, 256-byte aligned, with DEVICE_GUARD_BYTES (scheduler.h) unused on either side;
// nullptr when the device is out of memory.
void* device_allocate(std::size_t bytes);
void device_release(void* p, std::size_t bytes);  // p from device_allocate(bytes)

// While one is alive on this thread, device memory is host-accessible: the emulated device is working.
class DeviceWork {
 public:
  DeviceWork();
  ~DeviceWork();
  DeviceWork(const DeviceWork&) = delete;
  DeviceWork& operator=(const DeviceWork&) = delete;
};

// Whether host code touching device memory faults (false only if the range could not be reserved: then
// allocations come from the heap).
bool device_memory_protected();

}  // namespace jetpinn::emu
