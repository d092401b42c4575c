// Eigen's own GEMM (no BLAS behind it), compiled in its own translation unit without EIGEN_USE_BLAS,
// so one benchmark binary can show both Eigen's product and the linked BLAS on the same shapes.
#pragma once
#include <cstddef>
#include <memory>

namespace jetpinn::bench {

template <class T>
class EigenNativeGemm {
 public:
  EigenNativeGemm(std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n);
  ~EigenNativeGemm();
  void run();    // C = A B^T
  bool check();  // one row against a plain loop

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace jetpinn::bench
