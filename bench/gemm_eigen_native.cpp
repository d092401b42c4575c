// Eigen's native GEMM, kept apart from the BLAS-backed products (see gemm_eigen_native.h).
#undef EIGEN_USE_BLAS
#include "gemm_eigen_native.h"

#include <Eigen/Core>
#include <cmath>

namespace jetpinn::bench {

template <class T>
struct EigenNativeGemm<T>::Impl {
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  M a, b, c;
};

template <class T>
EigenNativeGemm<T>::EigenNativeGemm(std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n) : m_impl(new Impl) {
  m_impl->a = Impl::M::Random(m, k);
  m_impl->b = Impl::M::Random(n, k);
  m_impl->c.resize(m, n);
}
template <class T>
EigenNativeGemm<T>::~EigenNativeGemm() = default;
template <class T>
void EigenNativeGemm<T>::run() {
  m_impl->c.noalias() = m_impl->a * m_impl->b.transpose();
}
template <class T>
bool EigenNativeGemm<T>::check() {
  run();
  const auto r = m_impl->a.rows() / 2;
  double err = 0, ref = 0;
  for (std::ptrdiff_t j = 0; j < m_impl->b.rows(); ++j) {
    double s = 0;
    for (std::ptrdiff_t l = 0; l < m_impl->a.cols(); ++l) s += double(m_impl->a(r, l)) * double(m_impl->b(j, l));
    err = std::max(err, std::abs(s - double(m_impl->c(r, j))));
    ref = std::max(ref, std::abs(s));
  }
  return err <= 1e-4 * ref + 1e-6;
}

template class EigenNativeGemm<float>;
template class EigenNativeGemm<double>;

}  // namespace jetpinn::bench
