// Adam update kernel (see adam_device.h).
#include <algorithm>

#include "adam_device.h"
#include "cuda_check.h"
#include "launch.h"

namespace jetpinn::cuda {

namespace {
// Every thread reads the 64 bytes of scalars (one cached line) and then runs the same per-entry rule.
template <class T>
__global__ void adam_update_dev_kernel(std::ptrdiff_t n, const AdamStepScalars* __restrict__ s_dev,
                                       const double* __restrict__ guard, int guards, T* __restrict__ p,
                                       const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v) {
  for (int k = 0; k < guards; ++k)  // uniform across the grid: every thread leaves, or none
    if (guard[k] != 0) return;
  const AdamStepScalars s = *s_dev;
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n;
       i += std::ptrdiff_t(gridDim.x) * blockDim.x) {
    T pi = p[i], mi = m[i], vi = v[i];
    adam_update_entry<T>(s, pi, g[i], mi, vi);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}
}  // namespace

template <class T>
void adam_update(Context& ctx, std::ptrdiff_t n, const AdamStepScalars* s_dev, const double* guard, int guards,
                 T* params, const T* grads, T* m, T* v) {
  if (n == 0) return;
  JETPINN_CHECK(s_dev, "adam_update: null device scalars");
  JETPINN_CHECK(guards >= 0 && (guards == 0 || guard), "adam_update: " << guards << " guards at a null pointer");
  const int threads = 256;
  const int blocks = static_cast<int>(std::min<std::ptrdiff_t>((n + threads - 1) / threads, 4096));
  JETPINN_LAUNCH(adam_update_dev_kernel<T>, blocks, threads, 0, static_cast<cudaStream_t>(ctx.stream()))(n, s_dev, guard, guards,
                                                                                             params, grads, m, v);
  CUDA_CHECK_LAUNCH("adam_update_dev_kernel");
}

template void adam_update<float>(Context&, std::ptrdiff_t, const AdamStepScalars*, const double*, int, float*, const float*,
                                 float*, float*);
template void adam_update<double>(Context&, std::ptrdiff_t, const AdamStepScalars*, const double*, int, double*,
                                  const double*, double*, double*);

}  // namespace jetpinn::cuda
