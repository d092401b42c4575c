// Launchers of elementwise ops and reductions on device buffers (n entries, or a row-major rows x cols matrix),
// the device side of the tape's linear ops (core/tape.cpp). Reductions are deterministic (fixed two-stage
// trees, no atomics) and accumulate in double; their partials live in the Context's scratch.
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

template <class T> void fill(Context& ctx, std::ptrdiff_t n, T value, T* y);
template <class T> void axpy(Context& ctx, std::ptrdiff_t n, T alpha, const T* x, T* y);       // y += alpha x
template <class T> void scale(Context& ctx, std::ptrdiff_t n, T alpha, const T* x, T* y);      // y = alpha x
template <class T> void add(Context& ctx, std::ptrdiff_t n, const T* a, const T* b, T* y);     // y = a + b
template <class T> void sub(Context& ctx, std::ptrdiff_t n, const T* a, const T* b, T* y);     // y = a - b
template <class T> void mul(Context& ctx, std::ptrdiff_t n, const T* a, const T* b, T* y);     // y = a * b (plain)
// y[r][c] += b[c] for r < rows (the value-stream rows of a jet: bias and additive constants touch only them).
template <class T> void add_row_vector(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols, const T* b, T* y);
// out[0] = sum of x[0..n) (a device scalar), or the mean.
template <class T> void sum_all(Context& ctx, std::ptrdiff_t n, const T* x, T* out);
template <class T> void mean_all(Context& ctx, std::ptrdiff_t n, const T* x, T* out);
// out[c] += sum_{r < rows} x[r][c]: the bias gradient from the value-stream rows of dy.
template <class T> void colsum_accumulate(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols, const T* x, T* out);

}  // namespace jetpinn::cuda
