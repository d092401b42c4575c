// The emulated device tests itself: each check is shown firing on a small kernel with one planted defect, and
// silent on the same kernel fixed (whose result is also checked). Compiled only in the EMULATE build, as device
// code (the checks' instrumentation on), like kernels/*.cu.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "emu.h"
#include "launch.h"

using jetpinn::emu::take_findings;

namespace {

constexpr int N = 64;

// Takes the findings and says whether one of them contains `text` (so a test fails on the wrong finding too).
bool found(const std::string& text) {
  const std::vector<std::string> f = take_findings();
  bool hit = false;
  for (const std::string& s : f) hit = hit || s.find(text) != std::string::npos;
  if (!hit) {
    std::string all;
    for (const std::string& s : f) all += "\n  " + s;
    MESSAGE("expected a finding containing '" << text << "', got " << f.size() << ":" << all);
  }
  return hit;
}
bool clean() {
  const std::vector<std::string> f = take_findings();
  for (const std::string& s : f) MESSAGE("unexpected finding: " << s);
  return f.empty();
}

struct DeviceInts {
  int* p = nullptr;
  explicit DeviceInts(std::size_t n) { REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(int)) == cudaSuccess); }
  ~DeviceInts() { cudaFree(p); }
  std::vector<int> get(std::size_t n) const {
    std::vector<int> h(n);
    REQUIRE(cudaMemcpy(h.data(), p, n * sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess);
    return h;
  }
};

// ---- shared-memory races --------------------------------------------------------------------------------
// Each thread publishes its index and reads its neighbour's: needs a barrier in between.
template <bool FIXED>
__global__ void neighbour_kernel(int* out) {
  __shared__ int s[N];
  s[threadIdx.x] = static_cast<int>(threadIdx.x) * 10;
  if (FIXED) __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % N];
}

// In-place shift: reading s[i + 1] and writing s[i] in the same phase is a write-after-read race.
template <bool FIXED>
__global__ void shift_kernel(int* out) {
  __shared__ int s[N + 1];
  s[threadIdx.x] = static_cast<int>(threadIdx.x);
  if (threadIdx.x == 0) s[N] = N;
  __syncthreads();
  const int v = s[threadIdx.x + 1];
  if (FIXED) __syncthreads();
  s[threadIdx.x] = v;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}

// Warp-synchronous tree sum in shared memory: correct only with a __syncwarp between the steps (independent
// thread scheduling); the classic version relies on lockstep and races.
template <bool FIXED>
__global__ void warp_sum_kernel(int* out) {
  __shared__ int s[32];
  const int lane = threadIdx.x;
  s[lane] = lane + 1;
  if (FIXED) __syncwarp();
  for (int h = 16; h > 0; h >>= 1) {
    int v = s[lane];
    if (lane < h) v += s[lane + h];
    if (FIXED) __syncwarp();
    s[lane] = v;
    if (FIXED) __syncwarp();
  }
  if (lane == 0) out[0] = s[0];
}

// Reads a slot no thread wrote (the last thread's neighbour past the written range).
template <bool FIXED>
__global__ void uninitialised_kernel(int* out) {
  __shared__ int s[N + 1];
  s[threadIdx.x] = 1;
  if (FIXED && threadIdx.x == 0) s[N] = 1;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x + 1];
}

// ---- barriers and warp collectives ----------------------------------------------------------------------
// Half the block leaves before a barrier the other half waits at.
template <bool FIXED>
__global__ void early_exit_kernel(int* out) {
  __shared__ int s[N];
  if (!FIXED && threadIdx.x >= N / 2) return;
  s[threadIdx.x] = 1;
  __syncthreads();
  if (threadIdx.x < N / 2) out[threadIdx.x] = s[N / 2 - 1 - threadIdx.x];
}

// Two branches, each with its own __syncthreads.
template <bool FIXED>
__global__ void two_barriers_kernel(int* out) {
  if (FIXED || threadIdx.x % 2 == 0) {
    out[threadIdx.x] = 1;
    __syncthreads();
  } else {
    out[threadIdx.x] = 2;
    __syncthreads();
  }
}

// Shuffle sum over a full mask where the upper half-warp has already exited.
template <bool FIXED>
__global__ void shuffle_exited_kernel(int* out) {
  const int lane = threadIdx.x;
  if (!FIXED && lane >= 16) return;
  float v = static_cast<float>(lane);
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  if (lane == 0) out[0] = static_cast<int>(v);
}

// Lanes that meet at one shuffle with different masks.
template <bool FIXED>
__global__ void shuffle_masks_kernel(int* out) {
  const int lane = threadIdx.x;
  const unsigned mask = FIXED || lane >= 16 ? 0xffffffffu : 0x0000ffffu;
  const double v = __shfl_xor_sync(mask, static_cast<double>(lane), 1);
  out[lane] = static_cast<int>(v);
}

// ---- bounds -----------------------------------------------------------------------------------------------
template <bool FIXED>
__global__ void dynamic_bounds_kernel(int* out, int n) {
  JETPINN_DYNAMIC_SHARED(int, s, 16);
  s[threadIdx.x] = static_cast<int>(threadIdx.x);
  __syncthreads();
  if (threadIdx.x == 0) out[0] = s[FIXED ? n - 1 : n];  // n ints were asked for at the launch
}

template <bool FIXED>
__global__ void global_bounds_kernel(int* out, int n) {
  const int i = static_cast<int>(threadIdx.x);
  if (FIXED ? i < n : i <= n) out[i] = i;
}

__global__ void big_shared_kernel(int* out) {
  JETPINN_DYNAMIC_SHARED(int, s, 16);
  s[threadIdx.x] = 1;
  out[threadIdx.x] = s[threadIdx.x];
}

__global__ void fill_kernel(int* out, int value) { out[threadIdx.x] = value; }

}  // namespace

TEST_CASE("emu checks: shared-memory race (read after write) found, fixed kernel clean") {
  DeviceInts out(N);
  JETPINN_LAUNCH(neighbour_kernel<false>, 1, N, 0, nullptr)(out.p);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  CHECK(found("shared-memory race"));  // read after write, or write after read: the order decides which
  CHECK(take_findings().empty());  // taken: nothing left
  JETPINN_LAUNCH(neighbour_kernel<true>, 1, N, 0, nullptr)(out.p);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(clean());
  const std::vector<int> h = out.get(N);
  for (int i = 0; i < N; ++i) CHECK(h[i] == (i + 1) % N * 10);
}

TEST_CASE("emu checks: an in-place shift without a barrier races, fixed kernel clean") {
  DeviceInts out(N);
  JETPINN_LAUNCH(shift_kernel<false>, 1, N, 0, nullptr)(out.p);
  CHECK(found("shared-memory race"));  // write after read, or read after write: the order decides which
  JETPINN_LAUNCH(shift_kernel<true>, 1, N, 0, nullptr)(out.p);
  CHECK(clean());
  const std::vector<int> h = out.get(N);
  for (int i = 0; i < N; ++i) CHECK(h[i] == i + 1);
}

TEST_CASE("emu checks: a warp reduction that relies on lockstep races, with __syncwarp it is clean and right") {
  DeviceInts out(1);
  JETPINN_LAUNCH(warp_sum_kernel<false>, 1, 32, 0, nullptr)(out.p);
  CHECK(found("shared-memory race"));
  JETPINN_LAUNCH(warp_sum_kernel<true>, 1, 32, 0, nullptr)(out.p);
  CHECK(clean());
  CHECK(out.get(1)[0] == 32 * 33 / 2);
}

TEST_CASE("emu checks: read of uninitialised shared memory found") {
  DeviceInts out(N);
  JETPINN_LAUNCH(uninitialised_kernel<false>, 1, N, 0, nullptr)(out.p);
  CHECK(found("read of uninitialised shared memory"));
  JETPINN_LAUNCH(uninitialised_kernel<true>, 1, N, 0, nullptr)(out.p);
  CHECK(clean());
}


TEST_CASE("emu checks: barrier divergence (exited threads, two different barriers) found") {
  DeviceInts out(N);
  JETPINN_LAUNCH(early_exit_kernel<false>, 1, N, 0, nullptr)(out.p);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  CHECK(found("barrier divergence"));
  JETPINN_LAUNCH(early_exit_kernel<true>, 1, N, 0, nullptr)(out.p);
  CHECK(clean());
  CHECK(out.get(N)[0] == 1);

  JETPINN_LAUNCH(two_barriers_kernel<false>, 1, N, 0, nullptr)(out.p);
  CHECK(found("waits at another __syncthreads"));
  JETPINN_LAUNCH(two_barriers_kernel<true>, 1, N, 0, nullptr)(out.p);
  CHECK(clean());
}

TEST_CASE("emu checks: a shuffle reading an exited lane, and lanes with different masks, found") {
  DeviceInts out(32);
  JETPINN_LAUNCH(shuffle_exited_kernel<false>, 1, 32, 0, nullptr)(out.p);
  CHECK(found("which does not take part"));
  JETPINN_LAUNCH(shuffle_exited_kernel<true>, 1, 32, 0, nullptr)(out.p);
  CHECK(clean());
  CHECK(out.get(1)[0] == 31 * 32 / 2);

  JETPINN_LAUNCH(shuffle_masks_kernel<false>, 1, 32, 0, nullptr)(out.p);
  CHECK(found("with mask"));
  JETPINN_LAUNCH(shuffle_masks_kernel<true>, 1, 32, 0, nullptr)(out.p);
  CHECK(clean());
  const std::vector<int> h = out.get(32);
  for (int i = 0; i < 32; ++i) CHECK(h[i] == (i ^ 1));
}

TEST_CASE("emu checks: dynamic shared memory past the launch's bytes found") {
  DeviceInts out(1);
  JETPINN_LAUNCH(dynamic_bounds_kernel<false>, 1, N, N * sizeof(int), nullptr)(out.p, N);
  CHECK(found("past the launch's dynamic shared memory"));
  JETPINN_LAUNCH(dynamic_bounds_kernel<true>, 1, N, N * sizeof(int), nullptr)(out.p, N);
  CHECK(clean());
  CHECK(out.get(1)[0] == N - 1);
}


TEST_CASE("emu checks: a global access past the end of a device allocation found") {
  DeviceInts out(N);
  JETPINN_LAUNCH(global_bounds_kernel<false>, 1, N + 1, 0, nullptr)(out.p, N);
  CHECK(found("past the end of a device allocation"));
  JETPINN_LAUNCH(global_bounds_kernel<true>, 1, N + 1, 0, nullptr)(out.p, N);
  CHECK(clean());
}

TEST_CASE("emu checks: a kernel writing device memory after cudaFree found") {
  int* p = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), N * sizeof(int)) == cudaSuccess);
  DeviceInts keep(N);  // allocated after p, so p's span stays free, not returned to the unused top
  REQUIRE(cudaFree(p) == cudaSuccess);
  JETPINN_LAUNCH(fill_kernel, 1, N, 0, nullptr)(p, 3);
  CHECK(found("no live allocation holds"));
  JETPINN_LAUNCH(fill_kernel, 1, N, 0, nullptr)(keep.p, 3);
  CHECK(clean());
  CHECK(keep.get(N)[N - 1] == 3);
}

TEST_CASE("emu checks: more than 48 KB of dynamic shared memory needs the attribute, more than 227 KB fails") {
  DeviceInts out(N);
  const std::size_t big = 64 * 1024;
  JETPINN_LAUNCH(big_shared_kernel, 1, N, big, nullptr)(out.p);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(found("needs cudaFuncSetAttribute"));
  REQUIRE(cudaFuncSetAttribute(big_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(big)) ==
          cudaSuccess);
  JETPINN_LAUNCH(big_shared_kernel, 1, N, big, nullptr)(out.p);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(clean());
  CHECK(cudaFuncSetAttribute(big_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 228 * 1024) ==
        cudaErrorInvalidValue);
  cudaGetLastError();
  JETPINN_LAUNCH(big_shared_kernel, 1, 1025, 0, nullptr)(out.p);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  CHECK(found("outside sm_90's limits"));
}

TEST_CASE("emu checks: allocation, synchronisation and pageable copies inside a capture fail as the runtime does") {
  cudaStream_t s = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
  DeviceInts out(N);
  cudaGraph_t g = nullptr;

  // The defect: an allocation inside the captured step.
  REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  void* p = nullptr;
  CHECK(cudaMalloc(&p, 64) == cudaErrorStreamCaptureUnsupported);
  CHECK(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated);
  CHECK(g == nullptr);
  cudaGetLastError();

  REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  CHECK(cudaStreamSynchronize(s) == cudaErrorStreamCaptureUnsupported);
  CHECK(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated);
  cudaGetLastError();

  std::vector<int> pageable(N, 0);
  REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  CHECK(cudaMemcpyAsync(pageable.data(), out.p, N * sizeof(int), cudaMemcpyDeviceToHost, s) ==
        cudaErrorStreamCaptureUnsupported);
  CHECK(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated);
  cudaGetLastError();

  // Fixed: everything allocated before; the captured launch does not run until the graph does.
  int* pinned = nullptr;
  REQUIRE(cudaHostAlloc(reinterpret_cast<void**>(&pinned), N * sizeof(int), cudaHostAllocDefault) == cudaSuccess);
  REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  JETPINN_LAUNCH(fill_kernel, 1, N, 0, s)(out.p, 7);
  CHECK(cudaMemcpyAsync(pinned, out.p, N * sizeof(int), cudaMemcpyDeviceToHost, s) == cudaSuccess);
  REQUIRE(cudaStreamEndCapture(s, &g) == cudaSuccess);
  pinned[0] = -1;
  CHECK(pinned[0] == -1);  // captured, not run
  cudaGraphExec_t exec = nullptr;
  REQUIRE(cudaGraphInstantiate(&exec, g, 0) == cudaSuccess);
  REQUIRE(cudaGraphLaunch(exec, s) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
  CHECK(pinned[0] == 7);
  CHECK(pinned[N - 1] == 7);
  CHECK(clean());
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
  cudaFreeHost(pinned);
  cudaStreamDestroy(s);
}

TEST_CASE("emu checks: a stream, graph or allocation used after it was destroyed is a finding") {
  cudaStream_t s = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);
  REQUIRE(cudaStreamDestroy(s) == cudaSuccess);
  CHECK(cudaStreamSynchronize(s) == cudaErrorInvalidResourceHandle);
  CHECK(found("was destroyed"));
  void* p = nullptr;
  REQUIRE(cudaMalloc(&p, 16) == cudaSuccess);
  REQUIRE(cudaFree(p) == cudaSuccess);
  CHECK(cudaFree(p) == cudaErrorInvalidValue);
  CHECK(found("not a live device allocation"));
  cudaGetLastError();
}
