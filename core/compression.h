// Information compression of hidden layers on a fixed probe set (the paper's saturation and entropy).
// Adaptive bins: the bin width is the mean neuron range / bins (default 30); each neuron is binned over its
// own range [min_j, max_j], so neuron j has floor(range_j / width) + 1 bins.
// saturation: share of points whose activation falls in its neuron's lowest or highest bin, averaged over neurons.
// entropy:    H(T) in bits of the distribution of the layer's binned activation patterns (one pattern per point).
#pragma once
#include <vector>

#include "mlp.h"

namespace jetpinn {

struct LayerCompression {
  double saturation = 0, entropy = 0;
};

// act: P x n activations of one layer (row-major).
template <class T>
LayerCompression layer_compression(const RowMat<T>& act, int bins = 30);

// Every hidden layer of `net` (after its activation) at the probe points.
template <class T>
std::vector<LayerCompression> activation_compression(const Mlp<T>& net, const RowMat<T>& probe, int bins = 30);

}  // namespace jetpinn
