// Deterministic reductions of a device vector into a device scalar (never back to the host, so a training step
// that uses them can be captured in a CUDA graph): per-block partials over a grid whose size depends on n only,
// then one block combines them in a fixed tree. No atomics: the same input gives the same bits on every run.
// Accumulation is in double. Partials live in the Context's scratch.
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

// out[0] = (T)(factor * sum x): BackendOps::sum (factor 1) and mean (factor 1 / n).
template <class T> void sum_scaled(Context& ctx, std::ptrdiff_t n, const T* x, double factor, T* out);
// out[0] = sum x_i y_i (double).
template <class T> void dot(Context& ctx, std::ptrdiff_t n, const T* x, const T* y, double* out);
// out[0] = max |x_i| (double; NaNs are skipped as std::max skips them on the host; 0 for n = 0).
template <class T> void max_abs(Context& ctx, std::ptrdiff_t n, const T* x, double* out);
// out[0] = sum |x_i|, out[0] = max |x_i - y_i| (differences in double; NaNs skipped): L-BFGS's other reductions.
template <class T> void asum(Context& ctx, std::ptrdiff_t n, const T* x, double* out);
template <class T> void max_abs_diff(Context& ctx, std::ptrdiff_t n, const T* x, const T* y, double* out);
// out[0] = the number of NaN / inf entries (as a double).
template <class T> void count_nonfinite(Context& ctx, std::ptrdiff_t n, const T* x, double* out);

// The second stage alone, for kernels that write their own per-block partials: acc[0] += sum partial[0..parts),
// combined in a fixed order by one block.
void sum_partials_accumulate(Context& ctx, int parts, const double* partial, double* acc);

}  // namespace jetpinn::cuda
