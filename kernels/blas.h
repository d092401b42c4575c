// cuBLAS GEMMs on the Context's handle and stream, column-major in cuBLAS's convention:
//   C (m x n) = alpha op(A) op(B) + beta C,  op = transpose when the flag is set.
// A row-major (r x c) matrix is a column-major (c x r) one, so row-major Y = X W^T is column-major Y^T = W X^T
// (affine.cu spells out each use). float: SGEMM in the Context's GemmMath (pedantic FP32 or TF32), or for
// GemmMath::TF32x3 three TF32 tensor-core GEMMs of the operands' TF32 halves (blas.cu; the split goes to
// Context::gemm_scratch, so operands may live in Context::scratch); double: DGEMM.
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

template <class T>
void gemm(Context& ctx, bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, T alpha,
          const T* A, std::ptrdiff_t lda, const T* B, std::ptrdiff_t ldb, T beta, T* C, std::ptrdiff_t ldc);

// `batch` GEMMs with operands at A + i*stride_a, B + i*stride_b, C + i*stride_c.
template <class T>
void gemm_strided_batched(Context& ctx, bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k,
                          T alpha, const T* A, std::ptrdiff_t lda, std::ptrdiff_t stride_a, const T* B, std::ptrdiff_t ldb,
                          std::ptrdiff_t stride_b, T beta, T* C, std::ptrdiff_t ldc, std::ptrdiff_t stride_c,
                          std::ptrdiff_t batch);

}  // namespace jetpinn::cuda
