// ParamStore<T>: every trainable parameter of a model in one flat buffer, with a flat gradient beside it,
// so optimizers and gradient statistics see one vector. Entries are row-major matrices (weights out x in,
// biases 1 x out) at fixed offsets; views alias the buffers.
#pragma once
#include <string>
#include <vector>

#include "tensor.h"

namespace jetpinn {

struct ParamInfo {
  std::string name;
  Index offset = 0, rows = 0, cols = 0;
  bool is_bias = false;
  Index size() const { return rows * cols; }
};

template <class T>
class ParamStore {
 public:
  int add(std::string name, Index rows, Index cols, bool is_bias) {
    JETPINN_CHECK(rows > 0 && cols > 0, "parameter '" << name << "' needs a positive shape, got " << shape_str(rows, cols));
    m_info.push_back({std::move(name), static_cast<Index>(m_value.size()), rows, cols, is_bias});
    m_value.resize(m_value.size() + static_cast<std::size_t>(rows * cols), T(0));
    m_grad.resize(m_value.size(), T(0));
    return static_cast<int>(m_info.size()) - 1;
  }
  int count() const { return static_cast<int>(m_info.size()); }
  Index size() const { return static_cast<Index>(m_value.size()); }
  const ParamInfo& info(int i) const { return m_info[static_cast<std::size_t>(i)]; }
  const std::vector<ParamInfo>& infos() const { return m_info; }

  MatView<T> value(int i) { auto& p = info(i); return MatView<T>(m_value.data() + p.offset, p.rows, p.cols); }
  ConstMatView<T> value(int i) const { auto& p = info(i); return ConstMatView<T>(m_value.data() + p.offset, p.rows, p.cols); }
  MatView<T> grad(int i) { auto& p = info(i); return MatView<T>(m_grad.data() + p.offset, p.rows, p.cols); }
  ConstMatView<T> grad(int i) const { auto& p = info(i); return ConstMatView<T>(m_grad.data() + p.offset, p.rows, p.cols); }

  T* values() { return m_value.data(); }
  const T* values() const { return m_value.data(); }
  T* grads() { return m_grad.data(); }
  const T* grads() const { return m_grad.data(); }
  void zero_grad() { std::fill(m_grad.begin(), m_grad.end(), T(0)); }

 private:
  std::vector<ParamInfo> m_info;
  std::vector<T, Eigen::aligned_allocator<T>> m_value, m_grad;  // aligned like tensors
};

}  // namespace jetpinn
