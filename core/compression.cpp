// Saturation and entropy of binned activations (see compression.h).
#include "compression.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace jetpinn {

template <class T>
LayerCompression layer_compression(const RowMat<T>& act, int bins) {
  JETPINN_CHECK(bins >= 1, "compression: bins must be >= 1, got " << bins);
  const Index P = act.rows(), n = act.cols();
  LayerCompression out;
  if (P == 0 || n == 0) return out;
  std::vector<double> lo(static_cast<std::size_t>(n)), hi(static_cast<std::size_t>(n));
  double mean_range = 0;
  for (Index j = 0; j < n; ++j) {
    lo[static_cast<std::size_t>(j)] = static_cast<double>(act.col(j).minCoeff());
    hi[static_cast<std::size_t>(j)] = static_cast<double>(act.col(j).maxCoeff());
    mean_range += hi[static_cast<std::size_t>(j)] - lo[static_cast<std::size_t>(j)];
  }
  mean_range /= static_cast<double>(n);
  const double width = mean_range > 0 ? mean_range / bins : 1.0;
  // Bin index of every (point, neuron); patterns are the rows.
  std::vector<std::uint32_t> code(static_cast<std::size_t>(P * n));
  double sat = 0;
  for (Index j = 0; j < n; ++j) {
    const double l = lo[static_cast<std::size_t>(j)];
    const auto top = static_cast<std::uint32_t>(std::floor((hi[static_cast<std::size_t>(j)] - l) / width));
    long edge = 0;
    for (Index i = 0; i < P; ++i) {
      const auto k = std::min(top, static_cast<std::uint32_t>(std::floor((static_cast<double>(act(i, j)) - l) / width)));
      code[static_cast<std::size_t>(i * n + j)] = k;
      edge += (k == 0 || k == top) ? 1 : 0;
    }
    sat += static_cast<double>(edge) / static_cast<double>(P);
  }
  out.saturation = sat / static_cast<double>(n);
  // Sort the rows to count identical patterns.
  std::vector<Index> order(static_cast<std::size_t>(P));
  std::iota(order.begin(), order.end(), Index(0));
  const std::size_t row_bytes = static_cast<std::size_t>(n) * sizeof(std::uint32_t);
  auto row = [&](Index i) { return code.data() + i * n; };
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return std::memcmp(row(a), row(b), row_bytes) < 0; });
  double h = 0;
  for (std::size_t s = 0; s < order.size();) {
    std::size_t e = s + 1;
    while (e < order.size() && std::memcmp(row(order[s]), row(order[e]), row_bytes) == 0) ++e;
    const double p = static_cast<double>(e - s) / static_cast<double>(P);
    h -= p * std::log2(p);
    s = e;
  }
  out.entropy = h;
  return out;
}

template <class T>
std::vector<LayerCompression> activation_compression(const Mlp<T>& net, const RowMat<T>& probe, int bins) {
  Tape<T> tape(const_cast<ParamStore<T>*>(&net.params()));  // forward only: nothing is written to the store
  std::vector<Var<T>> hidden;
  net.forward(tape, tape.input(probe, StreamSet::value_only()), &hidden);
  std::vector<LayerCompression> out;
  for (const Var<T>& h : hidden) {
    const RowMat<T> act = h.value().mat();
    out.push_back(layer_compression(act, bins));
  }
  return out;
}

template LayerCompression layer_compression(const RowMat<float>&, int);
template LayerCompression layer_compression(const RowMat<double>&, int);
template std::vector<LayerCompression> activation_compression(const Mlp<float>&, const RowMat<float>&, int);
template std::vector<LayerCompression> activation_compression(const Mlp<double>&, const RowMat<double>&, int);

}  // namespace jetpinn
