// measure_ffma_peak (ffma_peak.h): FP32 FMA throughput of one device from a register-resident kernel.
// Each thread keeps CHAINS independent accumulators (enough to hide the FMA latency of 4 cycles on sm_90 with
// 4 warps per scheduler) and runs `iters` rounds of a = fma(a, b, c) on each; b = 0.999, c = 0.001 keep every
// value in [0, 2], so nothing overflows and the compiler cannot fold the loop (b, c are kernel arguments).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "launch.h"
#include "ffma_peak.h"

namespace jetpinn::bench {

namespace {

constexpr int CHAINS = 16, THREADS = 256;

#define FFMA_CHECK(call)                                                                                 \
  do {                                                                                                   \
    const cudaError_t e_ = (call);                                                                       \
    if (e_ != cudaSuccess) throw std::runtime_error(std::string(#call) + ": " + cudaGetErrorString(e_)); \
  } while (0)

__host__ __device__ inline float chain_start(unsigned thread, int k) { return 1e-3f * static_cast<float>(thread % 1024u) + 0.0625f * k; }

__global__ void ffma_peak_kernel(float* out, float b, float c, int iters) {
  const unsigned tid = blockIdx.x * blockDim.x + threadIdx.x;
  float a[CHAINS];
#pragma unroll
  for (int k = 0; k < CHAINS; ++k) a[k] = chain_start(tid, k);
#pragma unroll 4
  for (int i = 0; i < iters; ++i) {
#pragma unroll
    for (int k = 0; k < CHAINS; ++k) a[k] = fmaf(a[k], b, c);
  }
  float s = 0;
#pragma unroll
  for (int k = 0; k < CHAINS; ++k) s += a[k];
  out[tid] = s;
}

// The kernel's result for thread `tid`, on the host: std::fma rounds once, as fmaf does on the device.
float ffma_peak_cpu(unsigned tid, float b, float c, int iters) {
  float a[CHAINS];
  for (int k = 0; k < CHAINS; ++k) a[k] = chain_start(tid, k);
  for (int i = 0; i < iters; ++i)
    for (int k = 0; k < CHAINS; ++k) a[k] = std::fma(a[k], b, c);
  float s = 0;
  for (int k = 0; k < CHAINS; ++k) s += a[k];
  return s;
}

struct Buffer {
  float* p = nullptr;
  ~Buffer() { if (p) cudaFree(p); }
};
struct Events {
  cudaEvent_t start = nullptr, stop = nullptr;
  ~Events() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
};

}  // namespace

FfmaPeak measure_ffma_peak(int device) {
  FfmaPeak r;
  try {
    FFMA_CHECK(cudaSetDevice(device));
    FFMA_CHECK(cudaDeviceGetAttribute(&r.sms, cudaDevAttrMultiProcessorCount, device));
    FFMA_CHECK(cudaDeviceGetAttribute(&r.clock_mhz, cudaDevAttrClockRate, device));  // kHz
    r.clock_mhz /= 1000;
    r.spec_gflops = 2.0 * 128 * r.sms * r.clock_mhz * 1e-3;
    const int blocks = r.sms * 16;  // 8 resident blocks of 256 per SM on sm_90: two waves' worth, evenly split
    const std::size_t threads = static_cast<std::size_t>(blocks) * THREADS;
    Buffer out;
    FFMA_CHECK(cudaMalloc(&out.p, threads * sizeof(float)));
    const float b = 0.999f, c = 0.001f;
    // Check: a short run against the host, every 997th thread.
    const int check_iters = 1000;
    JETPINN_LAUNCH(ffma_peak_kernel, blocks, THREADS, 0, nullptr)(out.p, b, c, check_iters);
    FFMA_CHECK(cudaGetLastError());
    std::vector<float> got(threads);
    FFMA_CHECK(cudaMemcpy(got.data(), out.p, threads * sizeof(float), cudaMemcpyDeviceToHost));
    for (std::size_t t = 0; t < threads; t += 997) {
      const float want = ffma_peak_cpu(static_cast<unsigned>(t), b, c, check_iters);
      if (std::memcmp(&want, &got[t], sizeof want) != 0)
        throw std::runtime_error("FFMA kernel check failed at thread " + std::to_string(t) + ": " +
                                 std::to_string(got[t]) + " vs host " + std::to_string(want));
    }
    // Timed: about 1.1 TFLOP per launch on an H100 (132 SMs): ~17 ms at the 67 TFLOP/s datasheet peak.
    const int iters = 1 << 15;
    Events ev;
    FFMA_CHECK(cudaEventCreate(&ev.start));
    FFMA_CHECK(cudaEventCreate(&ev.stop));
    JETPINN_LAUNCH(ffma_peak_kernel, blocks, THREADS, 0, nullptr)(out.p, b, c, iters);  // warm-up (clocks up)
    FFMA_CHECK(cudaGetLastError());
    float best_ms = 1e30f;
    for (int rep = 0; rep < 5; ++rep) {
      FFMA_CHECK(cudaEventRecord(ev.start));
      JETPINN_LAUNCH(ffma_peak_kernel, blocks, THREADS, 0, nullptr)(out.p, b, c, iters);
      FFMA_CHECK(cudaGetLastError());
      FFMA_CHECK(cudaEventRecord(ev.stop));
      FFMA_CHECK(cudaEventSynchronize(ev.stop));
      float ms = 0;
      FFMA_CHECK(cudaEventElapsedTime(&ms, ev.start, ev.stop));
      best_ms = std::min(best_ms, ms);
    }
    r.seconds = 1e-3 * best_ms;
    r.gflops = 2.0 * CHAINS * static_cast<double>(iters) * static_cast<double>(threads) / r.seconds * 1e-9;
  } catch (const std::exception& e) {
    r.error = e.what();
    r.gflops = 0;
  }
  return r;
}

}  // namespace jetpinn::bench
