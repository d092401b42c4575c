// HostVectorOps<T>: the host side of VectorOps (lbfgs_vectors.h). Plain loops in index order, each written as
// the L-BFGS code wrote it inline before the interface existed, so host runs keep their bits (reductions are
// sequential double sums; g++ may contract a + b c to an FMA, the same way in every caller since each loop has
// one compiled body here).
#include "lbfgs_vectors.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace jetpinn {

template <class T>
T* HostVectorOps<T>::allocate(Size n) {
  return new T[static_cast<std::size_t>(n)]();
}
template <class T>
void HostVectorOps<T>::release(T* p) noexcept {
  delete[] p;
}
template <class T>
void HostVectorOps<T>::upload(Size n, const T* host, T* y) {
  if (n > 0) std::memcpy(y, host, sizeof(T) * static_cast<std::size_t>(n));
}
template <class T>
void HostVectorOps<T>::download(Size n, const T* x, T* host) {
  if (n > 0) std::memcpy(host, x, sizeof(T) * static_cast<std::size_t>(n));
}
template <class T>
void HostVectorOps<T>::copy(Size n, const T* x, T* y) {
  if (n > 0) std::memmove(y, x, sizeof(T) * static_cast<std::size_t>(n));
}
template <class T>
void HostVectorOps<T>::scale(Size n, double alpha, const T* x, T* y) {
  for (Size i = 0; i < n; ++i) y[i] = static_cast<T>(alpha * static_cast<double>(x[i]));
}
template <class T>
void HostVectorOps<T>::axpy(Size n, double alpha, const T* x, T* y) {
  for (Size i = 0; i < n; ++i) y[i] = static_cast<T>(static_cast<double>(y[i]) + alpha * static_cast<double>(x[i]));
}
template <class T>
void HostVectorOps<T>::sub(Size n, const T* a, const T* b, T* y) {
  for (Size i = 0; i < n; ++i) y[i] = static_cast<T>(a[i] - b[i]);
}
template <class T>
double HostVectorOps<T>::dot(Size n, const T* a, const T* b) {
  double sum = 0;
  for (Size i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return sum;
}
template <class T>
double HostVectorOps<T>::asum(Size n, const T* x) {
  double sum = 0;
  for (Size i = 0; i < n; ++i) sum += std::abs(static_cast<double>(x[i]));
  return sum;
}
template <class T>
double HostVectorOps<T>::max_abs(Size n, const T* x) {
  double m = 0;
  for (Size i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(x[i])));
  return m;
}
template <class T>
double HostVectorOps<T>::max_abs_diff(Size n, const T* a, const T* b) {
  double m = 0;
  for (Size i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return m;
}
template <class T>
bool HostVectorOps<T>::all_finite(Size n, const T* x) {
  for (Size i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

template class HostVectorOps<float>;
template class HostVectorOps<double>;

}  // namespace jetpinn
