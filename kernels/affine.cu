// Affine layers through cuBLAS (see affine.h). Row-major to cuBLAS's column-major, with R = rows:
//   y (R x out, row-major) is y^T (out x R) column-major, ld out:  y^T = W x^T
//       W row-major (out x in) = column-major (in x out), ld in -> op T;  x^T column-major (in x R), ld in -> op N
//   dW (out x in) row-major = dW^T (in x out) column-major, ld in:  dW^T += x^T dy
//       x^T (in x R) ld in -> N;  dy^T column-major (out x R), ld out -> op T gives (R x out)
//   dx (R x in) = dx^T (in x R) column-major, ld in:  dx^T += W^T dy^T
//       W as column-major (in x out), ld in -> N;  dy^T (out x R), ld out -> N
#include "affine.h"
#include "blas.h"
#include "check.h"
#include "elementwise.h"

namespace jetpinn::cuda {

template <class T>
void affine_forward(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                    const T* x, const T* W, const T* b, T* y) {
  JETPINN_CHECK(points >= 0 && points <= rows && (points == 0 || rows % points == 0),
                "affine_forward: " << rows << " rows are not whole streams of " << points << " points");
  gemm<T>(ctx, true, false, out, rows, in, T(1), W, in, x, in, T(0), y, out);
  if (b) add_row_vector<T>(ctx, points, out, b, y);
}

template <class T>
void affine_backward(Context& ctx, std::ptrdiff_t rows, std::ptrdiff_t points, std::ptrdiff_t in, std::ptrdiff_t out,
                     const T* x, const T* W, const T* dy, T* dW, T* db, T* dx) {
  JETPINN_CHECK(points >= 0 && points <= rows && (points == 0 || rows % points == 0),
                "affine_backward: " << rows << " rows are not whole streams of " << points << " points");
  if (dW) gemm<T>(ctx, false, true, in, out, rows, T(1), x, in, dy, out, T(1), dW, in);
  if (db) colsum_accumulate<T>(ctx, points, out, dy, db);
  if (dx) gemm<T>(ctx, false, false, in, rows, out, T(1), W, in, dy, out, T(1), dx, in);
}

#define JETPINN_INSTANTIATE(T)                                                                                   \
  template void affine_forward<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,      \
                                  const T*, const T*, const T*, T*);                                             \
  template void affine_backward<T>(Context&, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,     \
                                   const T*, const T*, const T*, T*, T*, T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
