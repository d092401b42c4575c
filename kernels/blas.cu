// cuBLAS wrappers (see blas.h): dimension checks (cuBLAS takes int), one call each, every status checked.
// GemmMath::TF32x3 (float only): both operands are split into TF32 halves in the Context's gemm_scratch by one
// elementwise kernel each (tf32_split.h; the stored lo is rounded to TF32 too, so the tensor core uses it as
// is), then C = alpha A_lo B_hi + beta C, C += alpha A_hi B_lo, C += alpha A_hi B_hi: three cublasGemmEx calls
// with CUBLAS_COMPUTE_32F_FAST_TF32, the small terms first.
#include <algorithm>
#include <climits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "blas.h"
#include "cuda_check.h"
#include "launch.h"
#include "tf32_split.h"

namespace jetpinn::cuda {

namespace {
int as_int(std::ptrdiff_t v, const char* what) {
  JETPINN_CHECK(v >= 0 && v <= INT_MAX, "GEMM " << what << " = " << v << " does not fit cuBLAS's int");
  return static_cast<int>(v);
}
cublasOperation_t op(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }
cublasHandle_t handle(Context& ctx) { return static_cast<cublasHandle_t>(ctx.blas()); }

// hi[i], lo[i] = the TF32 halves of x[i] (lo rounded to TF32 as well: a_hi + a_lo = a to 2^-22 relative).
__global__ void tf32_split_kernel(std::ptrdiff_t n, const float* __restrict__ x, float* __restrict__ hi,
                                  float* __restrict__ lo) {
  for (std::ptrdiff_t i = blockIdx.x * std::ptrdiff_t(blockDim.x) + threadIdx.x; i < n;
       i += std::ptrdiff_t(gridDim.x) * blockDim.x) {
    float h, l;
    tf32_split(x[i], h, l);
    hi[i] = h;
    lo[i] = tf32_round(l);
  }
}

// Entries a column-major (rows x cols, ld) operand spans, over `batch` copies `stride` apart.
std::ptrdiff_t operand_extent(std::ptrdiff_t rows, std::ptrdiff_t cols, std::ptrdiff_t ld, std::ptrdiff_t stride,
                              std::ptrdiff_t batch) {
  JETPINN_CHECK(stride >= 0, "TF32x3 gemm: negative batch stride " << stride);
  return ld * (cols - 1) + rows + stride * (batch - 1);
}

// The split operands of one TF32x3 GEMM: A_hi, A_lo, B_hi, B_lo with A's and B's layouts (same ld, strides).
struct SplitOperands {
  const float *a_hi, *a_lo, *b_hi, *b_lo;
};
SplitOperands split_operands(Context& ctx, const float* A, std::ptrdiff_t extent_a, const float* B,
                             std::ptrdiff_t extent_b) {
  auto aligned = [](std::ptrdiff_t n) { return (n + 63) / 64 * 64; };  // 256-byte aligned parts
  const std::ptrdiff_t na = aligned(extent_a), nb = aligned(extent_b);
  float* base = static_cast<float*>(ctx.gemm_scratch(sizeof(float) * static_cast<std::size_t>(2 * (na + nb))));
  float *a_hi = base, *a_lo = base + na, *b_hi = base + 2 * na, *b_lo = base + 2 * na + nb;
  const cudaStream_t st = static_cast<cudaStream_t>(ctx.stream());
  for (auto [x, n, hi, lo] : {std::tuple<const float*, std::ptrdiff_t, float*, float*>{A, extent_a, a_hi, a_lo},
                              std::tuple<const float*, std::ptrdiff_t, float*, float*>{B, extent_b, b_hi, b_lo}}) {
    const int threads = 256;
    const auto blocks = static_cast<unsigned>(std::min<std::ptrdiff_t>((n + threads - 1) / threads, 4096));
    JETPINN_LAUNCH(tf32_split_kernel, blocks, threads, 0, st)(n, x, hi, lo);
    CUDA_CHECK_LAUNCH("tf32_split_kernel");
  }
  return {a_hi, a_lo, b_hi, b_lo};
}

// C = alpha (A_lo B_hi + A_hi B_lo + A_hi B_hi) + beta C, small terms first; batch 1 uses cublasGemmEx.
void gemm_tf32x3(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                 const SplitOperands& s, int lda, long long sa, int ldb, long long sb, float beta, float* C, int ldc,
                 long long sc, int batch) {
  const float one = 1.0f;
  const std::pair<const float*, const float*> terms[3] = {{s.a_lo, s.b_hi}, {s.a_hi, s.b_lo}, {s.a_hi, s.b_hi}};
  for (int t = 0; t < 3; ++t) {
    const float* b = t == 0 ? &beta : &one;
    if (batch == 1) {
      CUBLAS_CHECK(cublasGemmEx(handle(ctx), ta, tb, m, n, k, &alpha, terms[t].first, CUDA_R_32F, lda, terms[t].second,
                                CUDA_R_32F, ldb, b, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_FAST_TF32,
                                CUBLAS_GEMM_DEFAULT));
    } else {
      CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle(ctx), ta, tb, m, n, k, &alpha, terms[t].first, CUDA_R_32F, lda, sa,
                                              terms[t].second, CUDA_R_32F, ldb, sb, b, C, CUDA_R_32F, ldc, sc, batch,
                                              CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    }
  }
}

void call(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float* alpha,
          const float* A, int lda, const float* B, int ldb, const float* beta, float* C, int ldc) {
  CUBLAS_CHECK(cublasSgemm(handle(ctx), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc));
}
void call(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const double* alpha,
          const double* A, int lda, const double* B, int ldb, const double* beta, double* C, int ldc) {
  CUBLAS_CHECK(cublasDgemm(handle(ctx), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc));
}
void call_batched(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float* alpha,
                  const float* A, int lda, long long sa, const float* B, int ldb, long long sb, const float* beta,
                  float* C, int ldc, long long sc, int batch) {
  CUBLAS_CHECK(cublasSgemmStridedBatched(handle(ctx), ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc,
                                         sc, batch));
}
void call_batched(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const double* alpha,
                  const double* A, int lda, long long sa, const double* B, int ldb, long long sb, const double* beta,
                  double* C, int ldc, long long sc, int batch) {
  CUBLAS_CHECK(cublasDgemmStridedBatched(handle(ctx), ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc,
                                         sc, batch));
}
}  // namespace

template <class T>
void gemm(Context& ctx, bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, T alpha,
          const T* A, std::ptrdiff_t lda, const T* B, std::ptrdiff_t ldb, T beta, T* C, std::ptrdiff_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta C: cuBLAS handles k = 0, but say so explicitly
    JETPINN_CHECK(beta == T(1), "gemm with k = 0 and beta != 1 is not used by the backend");
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    if (ctx.math() == GemmMath::TF32x3) {
      const SplitOperands so = split_operands(ctx, A, operand_extent(trans_a ? k : m, trans_a ? m : k, lda, 0, 1), B,
                                              operand_extent(trans_b ? n : k, trans_b ? k : n, ldb, 0, 1));
      gemm_tf32x3(ctx, op(trans_a), op(trans_b), as_int(m, "m"), as_int(n, "n"), as_int(k, "k"), alpha, so,
                  as_int(lda, "lda"), 0, as_int(ldb, "ldb"), 0, beta, C, as_int(ldc, "ldc"), 0, 1);
      return;
    }
  }
  call(ctx, op(trans_a), op(trans_b), as_int(m, "m"), as_int(n, "n"), as_int(k, "k"), &alpha, A, as_int(lda, "lda"),
       B, as_int(ldb, "ldb"), &beta, C, as_int(ldc, "ldc"));
}

template <class T>
void gemm_strided_batched(Context& ctx, bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k,
                          T alpha, const T* A, std::ptrdiff_t lda, std::ptrdiff_t stride_a, const T* B, std::ptrdiff_t ldb,
                          std::ptrdiff_t stride_b, T beta, T* C, std::ptrdiff_t ldc, std::ptrdiff_t stride_c,
                          std::ptrdiff_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  JETPINN_CHECK(k > 0, "batched gemm needs k > 0");
  if constexpr (std::is_same_v<T, float>) {
    if (ctx.math() == GemmMath::TF32x3) {
      const SplitOperands so =
          split_operands(ctx, A, operand_extent(trans_a ? k : m, trans_a ? m : k, lda, stride_a, batch), B,
                         operand_extent(trans_b ? n : k, trans_b ? k : n, ldb, stride_b, batch));
      gemm_tf32x3(ctx, op(trans_a), op(trans_b), as_int(m, "m"), as_int(n, "n"), as_int(k, "k"), alpha, so,
                  as_int(lda, "lda"), stride_a, as_int(ldb, "ldb"), stride_b, beta, C, as_int(ldc, "ldc"), stride_c,
                  as_int(batch, "batch"));
      return;
    }
  }
  call_batched(ctx, op(trans_a), op(trans_b), as_int(m, "m"), as_int(n, "n"), as_int(k, "k"), &alpha, A,
               as_int(lda, "lda"), stride_a, B, as_int(ldb, "ldb"), stride_b, &beta, C, as_int(ldc, "ldc"), stride_c,
               as_int(batch, "batch"));
}

#define JETPINN_INSTANTIATE(T)                                                                                    \
  template void gemm<T>(Context&, bool, bool, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, T, const T*,        \
                        std::ptrdiff_t, const T*, std::ptrdiff_t, T, T*, std::ptrdiff_t);                         \
  template void gemm_strided_batched<T>(Context&, bool, bool, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, T,  \
                                        const T*, std::ptrdiff_t, std::ptrdiff_t, const T*, std::ptrdiff_t,        \
                                        std::ptrdiff_t, T, T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
