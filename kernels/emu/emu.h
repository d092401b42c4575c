// The emulated device's internals shared by its parts (runtime, scheduler, checks, cuBLAS): stream work,
// findings, device memory. Not for kernels/ (they see only cuda_runtime.h and cublas_v2.h).
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "cuda_runtime.h"

namespace jetpinn::emu {

// Stream-ordered work: runs now (the emulated device executes each stream's work at once, in issue order), or,
// while `s` is capturing, is recorded into the capture's graph and runs at each cudaGraphLaunch instead.
// `what` names it in reports. Returns cudaErrorInvalidResourceHandle (and reports a finding) for a destroyed
// stream. The work itself reports its own findings.
cudaError_t enqueue(cudaStream_t s, std::function<void()> work, const char* what);
bool stream_alive(cudaStream_t s);  // nullptr (the legacy default stream) is alive

// A defect found by a check: printed once on stderr ("jetpinn-emu: ..."), kept until take_findings(), and it
// makes the launch (or API call) that found it fail. Left untaken at exit, findings fail the process.
void report(const std::string& message);
std::vector<std::string> take_findings();
std::size_t finding_count();

// Whether [p, p + bytes) lies inside one live device allocation (cudaMalloc).
bool is_device_range(const void* p, std::size_t bytes);

// Once per process, on stderr: this is the emulated device, not a GPU.
void announce();

}  // namespace jetpinn::emu
