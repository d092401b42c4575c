// cuBLAS wrappers (see blas.h): dimension checks (cuBLAS takes int), one call each, every status checked.
// Compiled, not yet run on a device.
#include <climits>

#include "blas.h"
#include "cuda_check.h"

namespace jetpinn::cuda {

namespace {
int as_int(std::ptrdiff_t v, const char* what) {
  JETPINN_CHECK(v >= 0 && v <= INT_MAX, "GEMM " << what << " = " << v << " does not fit cuBLAS's int");
  return static_cast<int>(v);
}
cublasOperation_t op(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }
cublasHandle_t handle(Context& ctx) { return static_cast<cublasHandle_t>(ctx.blas()); }

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
