// Affine layers of jets on the device, all streams in one GEMM (rows = S*P, stream-major; the value stream is
// rows [0, P)), as core/tape.cpp's Op::Affine:
//   forward   y = x W^T (+ b on the value rows),      x: rows x in, W: out x in (row-major), y: rows x out
//   backward  dW += dy^T x,  db += colsum(dy[0:P]),  dx += dy W      (a null output skips it)
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

template <class T>
void affine_forward(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                    const T* x, const T* W, const T* b, T* y);
template <class T>
void affine_backward(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                     const T* x, const T* W, const T* dy, T* dW, T* db, T* dx);

}  // namespace jetpinn::cuda
