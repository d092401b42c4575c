// Small elementwise launchers BackendOps needs beyond elementwise.h: constants, a device-scalar broadcast,
// strided column-block copies, and float64 accumulation. Device pointers, ctx's stream, every launch checked.
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

template <class T> void add_constant(Context& ctx, std::ptrdiff_t n, T c, T* y);  // y += c
// y += (T)(factor * s[0]) with s one device entry (read on the device: graph-safe). The reverse of sum / mean.
template <class T> void add_broadcast(Context& ctx, std::ptrdiff_t n, const T* s, double factor, T* y);
// dst[r * dst_ld + c] = (or += with accumulate) src[r * src_ld + c] for r < rows, c < cols. The copy is a
// cudaMemcpy2DAsync (needs src_ld, dst_ld >= cols when rows > 1); the accumulate a 2D grid-stride kernel.
template <class T>
void copy_cols(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t cols, const T* src, std::ptrdiff_t src_ld, T* dst,
               std::ptrdiff_t dst_ld, bool accumulate);
// L-BFGS's updates (core/lbfgs_vectors.h): computed in double, rounded once to T. x == y allowed.
template <class T> void scale_double(Context& ctx, std::ptrdiff_t n, double alpha, const T* x, T* y);  // y = T(alpha x)
template <class T> void axpy_double(Context& ctx, std::ptrdiff_t n, double alpha, const T* x, T* y);   // y = T(y + alpha x)
// y[i] += (double)x[i].
template <class T> void accumulate_double(Context& ctx, std::ptrdiff_t n, const T* x, double* y);

}  // namespace jetpinn::cuda
