// Batch-gradient statistics from the reverse sweep, at no extra GEMM FLOPs.
// The collocation term's points (in index order) are cut into B contiguous batches. Batch b's gradient is
//   g_b = c_b G_b + G_bc,   c_b = N / n_b,
// where G_b is the part of the full gradient that batch b's rows contribute and G_bc the initial/boundary
// terms' gradient (the same for every b). An affine layer's weight gradient is one product over all rows
// (points x streams), so it splits into B row-partition products: the tape hands each batched affine node to
// GradStats::affine(), which forms the G_b one after the other, adds them into the gradient, and accumulates
// sum_b c_b G_b and sum_b (c_b G_b)^2 per entry (float64). Over b, per entry: mean mu and population standard
// deviation sigma. SNR = |mu|_2 / |sigma|_2 over every weight matrix (biases too when asked), per layer with its
// own Frobenius norms, and phi = |mu| / sqrt(|mu|^2 + |sigma|^2) = SNR / sqrt(1 + SNR^2).
// Per-sample variant (B = N): |sigma|^2 = N sum_i |G_i|^2 - |sum_i G_i|^2 with, for a layer W and streams s,
// |G_i|^2 = sum_{s,s'} (dy_{s,i} . dy_{s',i}) (a_{s,i} . a_{s',i}): inner products only, no per-sample gradient.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "params.h"

namespace jetpinn {

struct GradStatsConfig {
  int batches = 100;            // B
  bool per_sample = false;      // B = N instead
  bool include_biases = false;  // the paper counts weight matrices only
  void validate() const;
};

struct GradSnr {
  double snr = 0, phi = 0;            // over every counted entry
  double mean_norm = 0, std_norm = 0; // |mu|_2, |sigma|_2
  int batches = 0;                    // B used (N for the per-sample variant)
  std::vector<std::string> layers;    // names of the weight (and bias) entries counted, in parameter order
  std::vector<double> layer_snr;      // per entry of `layers`
};

template <class T>
class GradStats {
 public:
  // Zero the accumulators for a new sweep over `params` (called before the backward pass).
  void begin(const ParamStore<T>& params, const GradStatsConfig& config);
  bool active() const { return m_active; }
  // One batched affine node's parameter gradients: dy (S*P x out) and the layer input a (S*P x in), stream-major.
  // Adds dy^T a into gW and the value stream's column sums of dy into gb (if not null), like the plain sweep,
  // and accumulates the statistics of parameter entries w and bias (-1: none).
  void affine(int w, int bias, Index streams, Index points, ConstMatView<T> dy, ConstMatView<T> a, MatView<T> gW, T* gb);
  // After the sweep: params.grads() holds the full gradient.
  GradSnr finish(const ParamStore<T>& params);

 private:
  GradStatsConfig m_c;
  bool m_active = false;
  Index m_points = -1;                  // N (every batched node must see the same points)
  std::vector<double> m_s1, m_s2, m_r;  // per flat parameter entry: sum c_b G_b, sum (c_b G_b)^2, sum G_b
  std::vector<double> m_sq;             // per parameter: sum_i |G_i|^2 (per-sample variant)
  std::vector<char> m_seen;             // per parameter: touched by a batched node this sweep
  std::vector<Index> m_offset;          // per parameter: its flat offset
  RowMat<T> m_gb, m_before;              // one batch's weight gradient; gW before this node added to it
  std::vector<T> m_gbias, m_before_bias;
  void accumulate(Index offset, const T* g, Index n, double c);
  void add_difference(Index offset, const T* after, const T* before, Index n);
};

// The statistics from the accumulated sums (finish() and the Backend share it): grads is the full gradient;
// s1, s2, r per flat parameter entry (s1, s2 unused per-sample), sq per parameter (per-sample only); seen: per
// parameter, touched by a batched node; points: N.
template <class T>
GradSnr grad_snr_from_sums(const ParamStore<T>& params, const T* grads, const GradStatsConfig& c, Index points,
                           const double* s1, const double* s2, const double* r, const double* sq,
                           const std::vector<char>& seen);

// out[j] = sum_i rows[i * cols + j] over `n` contiguous rows, added row after row, so every entry's rounding is
// fixed by the indices alone. Eigen's colwise().sum() into a destination of unknown alignment sums the entries
// before its first packet boundary and after its last full packet in another order than the rest, so its bits
// depended on where the heap had put the destination (a resumed run's buffers lie elsewhere).
template <class T>
void column_sums(const T* rows, Index n, Index cols, T* out) {
  std::fill(out, out + cols, T(0));
  for (Index i = 0; i < n; ++i) {
    const T* row = rows + i * cols;
    for (Index j = 0; j < cols; ++j) out[j] += row[j];
  }
}

// Paper cadence: every 10 steps below step 300, then every 100; or every `every` steps when every > 0.
inline bool diagnostics_due(long step, long every) {
  if (every > 0) return step % every == 0;
  return step < 300 ? step % 10 == 0 : step % 100 == 0;
}

}  // namespace jetpinn
