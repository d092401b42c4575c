// The card's FP32 FMA peak, measured: a register-resident kernel (every thread runs CHAINS independent chains
// a = fma(a, b, c), no memory traffic in the loop) over enough blocks to fill every SM; best of five timed
// launches (CUDA events). The denominator of "fraction of peak" in bench_cuda_step's summary.
// Checked first: a short launch's per-thread results equal, bit for bit, the same fma chains run on the host.
// Host-only header (no CUDA types).
#pragma once
#include <string>

namespace jetpinn::bench {

struct FfmaPeak {
  double gflops = 0;        // 2 flops per FFMA
  double seconds = 0;       // best timed launch
  int sms = 0, clock_mhz = 0;
  double spec_gflops = 0;   // 128 FP32 lanes per SM (sm_80+) x 2 x SMs x clock: the datasheet-style figure
  std::string error;        // non-empty: the check failed or CUDA refused (then gflops is 0)
};

FfmaPeak measure_ffma_peak(int device = 0);

}  // namespace jetpinn::bench
