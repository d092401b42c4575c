// Tensor<T>: a row-major matrix of float or double, the one storage type of the engine.
// A jet with S streams over P points and C columns is a (S*P) x C tensor, stream-major:
// rows [s*P, (s+1)*P) hold stream s, so every stream is a contiguous P x C block and one GEMM serves all.
// Storage is tagged so a device-memory variant (kernels/) can share the shape logic; the core only holds Host.
#pragma once
#include <Eigen/Core>
#include <cstddef>
#include <string>
#include <vector>

#include "check.h"

namespace jetpinn {

using Index = std::ptrdiff_t;

enum class Storage { Host, Device };

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatMap = Eigen::Map<RowMat<T>, Eigen::AlignedMax>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMat<T>, Eigen::AlignedMax>;
template <class T>
using MatView = Eigen::Map<RowMat<T>>;  // possibly unaligned (a block of rows inside a tensor)
template <class T>
using ConstMatView = Eigen::Map<const RowMat<T>>;

inline std::string shape_str(Index rows, Index cols) {
  return "(" + std::to_string(rows) + " x " + std::to_string(cols) + ")";
}

template <class T>
class Tensor {
 public:
  Tensor() = default;
  Tensor(Index rows, Index cols) { resize(rows, cols); }

  // Keeps the buffer when the size is unchanged or smaller, so tapes reuse memory across steps.
  void resize(Index rows, Index cols) {
    JETPINN_CHECK(rows >= 0 && cols >= 0, "tensor shape must be non-negative, got " << shape_str(rows, cols));
    m_rows = rows;
    m_cols = cols;
    if (static_cast<std::size_t>(rows * cols) > m_data.size()) m_data.resize(static_cast<std::size_t>(rows * cols));
  }
  void set_zero() { std::fill(m_data.begin(), m_data.begin() + size(), T(0)); }

  Index rows() const { return m_rows; }
  Index cols() const { return m_cols; }
  Index size() const { return m_rows * m_cols; }
  Storage storage() const { return Storage::Host; }
  T* data() { return m_data.data(); }
  const T* data() const { return m_data.data(); }
  T& operator()(Index r, Index c) { return m_data[static_cast<std::size_t>(r * m_cols + c)]; }
  T operator()(Index r, Index c) const { return m_data[static_cast<std::size_t>(r * m_cols + c)]; }

  MatMap<T> mat() { return MatMap<T>(data(), m_rows, m_cols); }
  ConstMatMap<T> mat() const { return ConstMatMap<T>(data(), m_rows, m_cols); }
  // Rows [r0, r0 + n): one stream block of a jet.
  MatView<T> block_rows(Index r0, Index n) { return MatView<T>(data() + r0 * m_cols, n, m_cols); }
  ConstMatView<T> block_rows(Index r0, Index n) const { return ConstMatView<T>(data() + r0 * m_cols, n, m_cols); }

  std::string shape() const { return shape_str(m_rows, m_cols); }

 private:
  Index m_rows = 0, m_cols = 0;
  std::vector<T, Eigen::aligned_allocator<T>> m_data;
};

// Throws naming both shapes when they differ.
template <class A, class B>
void check_same_shape(const A& a, const B& b, const char* what) {
  JETPINN_CHECK(a.rows() == b.rows() && a.cols() == b.cols(),
                what << ": shape mismatch " << shape_str(a.rows(), a.cols()) << " vs " << shape_str(b.rows(), b.cols()));
}

}  // namespace jetpinn
