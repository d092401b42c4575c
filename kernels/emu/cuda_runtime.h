// The emulated device's CUDA runtime API and device language (-DJETPINN_CUDA=EMULATE): the subset kernels/ uses,
// each piece by its documented semantics, so that kernels/*.cu compile with the host C++ compiler and run on the
// CPU under strict checks (kernels/emu/README.md). A test harness, never a GPU and never a source of timings.
// Only the emulated build puts this folder on the include path; nvcc builds never see it.
#pragma once
#include <math.h>  // the C math functions device code calls unqualified (fmax, sqrt, ...), with C++ overloads

#include <cstddef>
#include <cstdint>
#include <source_location>

#define JETPINN_CUDA_EMULATED 1

// ---- device language -------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __grid_constant__
#define __align__(n) alignas(n)
// Static shared memory: one instance per block. Blocks run one at a time, so a static variable is exactly that
// (the checks shadow the program's static data, kernels/emu/shared_check.cpp); the dynamic area is
// JETPINN_DYNAMIC_SHARED's.
#define __shared__ static

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x = 1, y = 1, z = 1;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

namespace jetpinn::emu {
// The calling thread's coordinates, set by the scheduler before it resumes each emulated thread.
struct ThreadCoords {
  uint3 thread_idx{0, 0, 0}, block_idx{0, 0, 0};
  dim3 block_dim{}, grid_dim{};
};
// constinit: threadIdx and friends read as a plain thread-pointer load, with no TLS wrapper call.
extern constinit thread_local ThreadCoords t_coords;
// Dynamic shared memory of the running launch (its size is the launch's byte count).
unsigned char* dynamic_shared();
}  // namespace jetpinn::emu

#define threadIdx (static_cast<const uint3&>(::jetpinn::emu::t_coords.thread_idx))
#define blockIdx (static_cast<const uint3&>(::jetpinn::emu::t_coords.block_idx))
#define blockDim (static_cast<const dim3&>(::jetpinn::emu::t_coords.block_dim))
#define gridDim (static_cast<const dim3&>(::jetpinn::emu::t_coords.grid_dim))
constexpr int warpSize = 32;

// Barriers and warp collectives: the only points where an emulated thread yields to the others of its block.
// The call site names the barrier (two different __syncthreads in one block's path are a divergence).
using EmuSite = std::source_location;
void __syncthreads(EmuSite site = EmuSite::current());
void __syncwarp(unsigned mask = 0xffffffffu, EmuSite site = EmuSite::current());
float __shfl_xor_sync(unsigned mask, float v, int lane_mask, int width = 32, EmuSite site = EmuSite::current());
double __shfl_xor_sync(unsigned mask, double v, int lane_mask, int width = 32, EmuSite site = EmuSite::current());
int __shfl_xor_sync(unsigned mask, int v, int lane_mask, int width = 32, EmuSite site = EmuSite::current());
unsigned __shfl_xor_sync(unsigned mask, unsigned v, int lane_mask, int width = 32, EmuSite site = EmuSite::current());
float __shfl_down_sync(unsigned mask, float v, unsigned delta, int width = 32, EmuSite site = EmuSite::current());
double __shfl_down_sync(unsigned mask, double v, unsigned delta, int width = 32, EmuSite site = EmuSite::current());
float __shfl_sync(unsigned mask, float v, int src_lane, int width = 32, EmuSite site = EmuSite::current());
double __shfl_sync(unsigned mask, double v, int src_lane, int width = 32, EmuSite site = EmuSite::current());

// IEEE round-to-nearest arithmetic that is never contracted into an FMA (the emulated build compiles with
// -ffp-contract=off, so the plain operators already are).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }

// ---- runtime API -----------------------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorStreamCaptureWrongThread = 908,
};

struct EmuStream;
struct EmuGraph;
struct EmuGraphExec;
struct EmuEvent;
using cudaStream_t = EmuStream*;
using cudaGraph_t = EmuGraph*;
using cudaGraphExec_t = EmuGraphExec*;
using cudaEvent_t = EmuEvent*;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrClockRate = 13,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3
};
struct cudaPointerAttributes {
  cudaMemoryType type = cudaMemoryTypeUnregistered;
  int device = 0;
  void* devicePointer = nullptr;
  void* hostPointer = nullptr;
};
struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlock;
  std::size_t sharedMemPerBlockOptin;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int clockRate;
  int major;
  int minor;
  int multiProcessorCount;
};

constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1;
constexpr unsigned cudaHostAllocDefault = 0;

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);

cudaError_t cudaMalloc(void** p, std::size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaHostAlloc(void** p, std::size_t bytes, unsigned flags);
cudaError_t cudaMallocHost(void** p, std::size_t bytes);
cudaError_t cudaFreeHost(void* p);
// The runtime's typed overloads (cuda_runtime.h has them for C++).
template <class T>
cudaError_t cudaMalloc(T** p, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
template <class T>
cudaError_t cudaHostAlloc(T** p, std::size_t bytes, unsigned flags) {
  return cudaHostAlloc(reinterpret_cast<void**>(p), bytes, flags);
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemcpy2DAsync(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                              std::size_t height, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* p, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, std::size_t bytes, cudaStream_t s = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

// Function attributes are keyed by the kernel's address, as the runtime keys them by its entry.
cudaError_t emu_func_set_attribute(const void* func, cudaFuncAttribute attr, int value);
template <class... P>
cudaError_t cudaFuncSetAttribute(void (*func)(P...), cudaFuncAttribute attr, int value) {
  return emu_func_set_attribute(reinterpret_cast<const void*>(func), attr, value);
}
