// Deterministic reductions (see reduce.h): stage 1 writes one double per block of a grid-stride pass, stage 2
// (one block) combines them and writes the device scalar.
#include <cmath>

#include "cuda_check.h"
#include "launch.h"
#include "reduce.h"
#include "reduce_common.cuh"

namespace jetpinn::cuda {

namespace {
using namespace reduce_detail;

cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }

enum class Kind { Sum, Dot, MaxAbs, NonFinite, Asum, MaxAbsDiff };

template <class T, Kind K>
__device__ inline double term(const T* x, const T* y, std::ptrdiff_t i) {
  if constexpr (K == Kind::Sum) return static_cast<double>(x[i]);
  else if constexpr (K == Kind::Dot) return static_cast<double>(x[i]) * static_cast<double>(y[i]);
  else if constexpr (K == Kind::MaxAbs) return fabs(static_cast<double>(x[i]));
  else if constexpr (K == Kind::Asum) return fabs(static_cast<double>(x[i]));
  else if constexpr (K == Kind::MaxAbsDiff) return fabs(static_cast<double>(x[i]) - static_cast<double>(y[i]));
  else return isfinite(x[i]) ? 0.0 : 1.0;
}

template <Kind K>
struct CombineOf {
  static constexpr Combine value = K == Kind::MaxAbs || K == Kind::MaxAbsDiff ? Combine::Max : Combine::Sum;
};

template <class T, Kind K>
__global__ void reduce_partials_kernel(std::ptrdiff_t n, const T* __restrict__ x, const T* __restrict__ y,
                                       double* __restrict__ partial) {
  __shared__ double s[THREADS];
  constexpr Combine OP = CombineOf<K>::value;
  double acc = 0;  // the identity of sum, and of max over |x| >= 0
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n;
       i += std::ptrdiff_t(gridDim.x) * blockDim.x)
    acc = combine<OP>(acc, term<T, K>(x, y, i));
  const double r = block_combine<OP>(acc, s);
  if (threadIdx.x == 0) partial[blockIdx.x] = r;
}

// out[0] = factor * combine(partial) (in OUT), or out[0] += it when `accumulate`.
template <class OUT, Combine OP>
__global__ void reduce_finish_kernel(int parts, const double* __restrict__ partial, double factor, bool accumulate,
                                     OUT* __restrict__ out) {
  __shared__ double s[THREADS];
  double acc = 0;
  for (int i = threadIdx.x; i < parts; i += blockDim.x) acc = combine<OP>(acc, partial[i]);
  const double r = block_combine<OP>(acc, s);
  if (threadIdx.x == 0) {
    if (accumulate) out[0] = static_cast<OUT>(static_cast<double>(out[0]) + r * factor);
    else out[0] = static_cast<OUT>(r * factor);
  }
}

template <class T, class OUT, Kind K>
void reduce(Context& ctx, std::ptrdiff_t n, const T* x, const T* y, double factor, OUT* out, const char* what) {
  JETPINN_CHECK(n >= 0, what << ": negative length " << n);
  JETPINN_CHECK(out, what << ": null output");
  const int parts = parts_for(n);
  double* partial = static_cast<double*>(ctx.scratch(sizeof(double) * static_cast<std::size_t>(parts)));
  JETPINN_LAUNCH((reduce_partials_kernel<T, K>), parts, THREADS, 0, stream_of(ctx))(n, x, y, partial);
  CUDA_CHECK_LAUNCH("reduce_partials_kernel");
  JETPINN_LAUNCH((reduce_finish_kernel<OUT, CombineOf<K>::value>), 1, THREADS, 0, stream_of(ctx))(parts, partial, factor, false, out);
  CUDA_CHECK_LAUNCH("reduce_finish_kernel");
}
}  // namespace

template <class T>
void sum_scaled(Context& ctx, std::ptrdiff_t n, const T* x, double factor, T* out) {
  reduce<T, T, Kind::Sum>(ctx, n, x, nullptr, factor, out, "sum_scaled");
}
template <class T>
void dot(Context& ctx, std::ptrdiff_t n, const T* x, const T* y, double* out) {
  reduce<T, double, Kind::Dot>(ctx, n, x, y, 1.0, out, "dot");
}
template <class T>
void max_abs(Context& ctx, std::ptrdiff_t n, const T* x, double* out) {
  reduce<T, double, Kind::MaxAbs>(ctx, n, x, nullptr, 1.0, out, "max_abs");
}
template <class T>
void asum(Context& ctx, std::ptrdiff_t n, const T* x, double* out) {
  reduce<T, double, Kind::Asum>(ctx, n, x, nullptr, 1.0, out, "asum");
}
template <class T>
void max_abs_diff(Context& ctx, std::ptrdiff_t n, const T* x, const T* y, double* out) {
  reduce<T, double, Kind::MaxAbsDiff>(ctx, n, x, y, 1.0, out, "max_abs_diff");
}
template <class T>
void count_nonfinite(Context& ctx, std::ptrdiff_t n, const T* x, double* out) {
  reduce<T, double, Kind::NonFinite>(ctx, n, x, nullptr, 1.0, out, "count_nonfinite");
}

void sum_partials_accumulate(Context& ctx, int parts, const double* partial, double* acc) {
  JETPINN_CHECK(parts >= 1, "sum_partials_accumulate: no partials");
  JETPINN_LAUNCH((reduce_finish_kernel<double, Combine::Sum>), 1, THREADS, 0, stream_of(ctx))(parts, partial, 1.0, true, acc);
  CUDA_CHECK_LAUNCH("reduce_finish_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                         \
  template void sum_scaled<T>(Context&, std::ptrdiff_t, const T*, double, T*);         \
  template void dot<T>(Context&, std::ptrdiff_t, const T*, const T*, double*);         \
  template void max_abs<T>(Context&, std::ptrdiff_t, const T*, double*);               \
  template void asum<T>(Context&, std::ptrdiff_t, const T*, double*);                  \
  template void max_abs_diff<T>(Context&, std::ptrdiff_t, const T*, const T*, double*); \
  template void count_nonfinite<T>(Context&, std::ptrdiff_t, const T*, double*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
