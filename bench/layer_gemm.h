// One product of a jet layer's step, through Eigen (the linked BLAS when built with one), with rows = streams x
// points: shape 0 forward Y = X W^T, 1 weight gradient dW = dY^T X, 2 input gradient dX = dY W. check() compares
// one entry of the result with a float64 dot product; benchmarks call it before they time.
#pragma once
#include <cmath>

#include "tensor.h"

namespace jetpinn::bench {

template <class T>
struct LayerGemm {
  Index rows, k, n;
  int shape;
  RowMat<T> x, w, dy, y, dw, dx;
  LayerGemm(Index rows_, Index k_, Index n_, int shape_)
      : rows(rows_), k(k_), n(n_), shape(shape_), x(RowMat<T>::Random(rows_, k_)), w(RowMat<T>::Random(n_, k_)),
        dy(RowMat<T>::Random(rows_, n_)), y(rows_, n_), dw(n_, k_), dx(rows_, k_) {}
  void run() {
    if (shape == 0) y.noalias() = x * w.transpose();
    else if (shape == 1) dw.noalias() = dy.transpose() * x;
    else dx.noalias() = dy * w;
  }
  double flops() const { return 2.0 * double(rows) * double(k) * double(n); }
  // Relative error of one entry (after run()) against a float64 dot product.
  double check_rel_err() const {
    double ref = 0, got = 0;
    if (shape == 0) { ref = x.row(rows / 2).template cast<double>().dot(w.row(1).template cast<double>()); got = double(y(rows / 2, 1)); }
    if (shape == 1) { ref = dy.col(1).template cast<double>().dot(x.col(2).template cast<double>()); got = double(dw(1, 2)); }
    if (shape == 2) { ref = dy.row(rows / 2).template cast<double>().dot(w.col(2).template cast<double>()); got = double(dx(rows / 2, 2)); }
    return std::abs(got - ref) / (1.0 + std::abs(ref));
  }
  double tolerance() const { return sizeof(T) == 4 ? 1e-3 : 1e-10; }
};

}  // namespace jetpinn::bench
