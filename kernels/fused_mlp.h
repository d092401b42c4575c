// Fused jet-MLP kernels for narrow networks (every layer width <= 128): a tile of points with all S of its
// jet streams stays in shared memory across the layers, each layer's weights are staged in shared memory, and
// the activation's jet rules (jet_rules.h, the same per-element code as the unary jet kernels) run in place.
//   forward:  h_{-1} = x (S*P x inputs jet), z_l = h_{l-1} W_l^T (+ b_l on the value stream), h_l = f(z_l),
//             y = h_{L-1} W_L^T + b_L; optionally saves z_l and h_l (training) for the backward pass.
//   backward: from dy (S*P x outputs), dz_l = f'-jet-adjoint(z_l, dh_l), dh_{l-1} = dz_l W_l, for l = L-1..0;
//             writes every dz_l. The parameter gradients dW_l = dz_l^T h_{l-1}, db_l = colsum(dz_l value rows)
//             are K = S*P reductions that cuBLAS does best: DeviceMlp (device_mlp.h) runs them from the saved
//             buffers, and the batch statistics (batch_stats.h) use the same buffers.
//   backward + statistics (fused_mlp_stats.cu): the same sweep with tiles aligned to B contiguous batches of the
//             points; each tile forms every layer's dz_l^T h_{l-1} (and the bias's column sum) from the rows it
//             holds in shared memory, so G_b, and from them G, S1 = sum c_b G_b, S2 = sum (c_b G_b)^2, come
//             out of the one pass (definitions in batch_stats_rule.h); optionally also, per parameter group,
//             sum_i ||g_i||^2 of the per-point gradients g_i (the per-sample statistics), from the same tiles.
// Parameters: one flat buffer in Mlp<T>'s ParamStore order (layer0.W, layer0.b, layer1.W, ...).
// Buffers z, h, dz: `depth` blocks of S*P x width each, block l at l*S*P*width.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "device_context.h"
#include "jet_rules.h"

namespace jetpinn::cuda {

struct FusedMlpShape {
  int inputs = 2, width = 128, depth = 6, outputs = 1;
  Activation activation = Activation::Tanh;
  int power = 0;
};

constexpr int FUSED_MAX_WIDTH = 128;

// Offsets into the flat parameter buffer: weight of layer l at w_offset(l) (out_l x in_l), bias after it.
std::ptrdiff_t fused_w_offset(const FusedMlpShape& s, int layer);
std::ptrdiff_t fused_b_offset(const FusedMlpShape& s, int layer);
std::ptrdiff_t fused_param_count(const FusedMlpShape& s);

// Whether the fused kernels take this network and stream count in precision T on ctx's device; `why` says
// what to change otherwise ("width must be <= 128 for the fused kernel, got 256; use the cuBLAS path").
template <class T>
bool fused_mlp_supported(Context& ctx, const FusedMlpShape& s, int streams, std::string* why);

// y: S*P x outputs. z, h: depth blocks (see above), both null for inference or both set for training.
template <class T>
void fused_mlp_forward(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points,
                       const T* params, const T* x, T* y, T* z, T* h);
// dy: S*P x outputs; z, h from the forward; dz: depth blocks, overwritten.
template <class T>
void fused_mlp_backward(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points,
                        const T* params, const T* dy, const T* z, const T* h, T* dz);

constexpr int FUSED_STATS_MAX_BATCHES = 256;

// Whether fused_mlp_backward_stats takes this network (it needs one more tile of shared memory than the
// backward: the layer inputs h_{l-1} beside the adjoints).
template <class T>
bool fused_mlp_stats_supported(Context& ctx, const FusedMlpShape& s, int streams, std::string* why);

// fused_mlp_backward plus the batch statistics of every parameter entry, in the flat parameter order (layer0.W,
// layer0.b, ...): G (T) = the full gradient dL/dparams = sum_b G_b, S1 (T) = sum_b c_b G_b, S2 (double) =
// sum_b (c_b G_b)^2, c_b = P / n_b; all fused_param_count(s) entries, overwritten. x: the input jet (S*P x
// inputs); offsets: B + 1 host entries from 0 to P, increasing (B <= FUSED_STATS_MAX_BATCHES); dz may be null
// (not stored). sample_sq (double, may be null: not computed, and the kernel is the one without it): 2 (depth + 1)
// entries in parameter order (layer0.W, layer0.b, layer1.W, ...), overwritten with sum over points i of ||g_i||^2,
//   W_l: ||g_i||^2 = sum_{s,s'} (dz_{s,i} . dz_{s',i}) (a_{s,i} . a_{s',i})   (a = h_{l-1}, x for l = 0;
//        dy for dz at l = depth),   b_l: ||g_i||^2 = |dz_{0,i}|^2   (value stream),
// as per_sample_sq_norms (batch_stats.h), summed in double; independent of the batch split. Deterministic: each
// block owns a run of tiles of one batch and writes its own partial sums in Context::scratch (one per warp for
// sample_sq); a second kernel adds them in a fixed order. Captured in a graph, the offsets are frozen (they are
// a kernel parameter).
template <class T>
void fused_mlp_backward_stats(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points,
                              const T* params, const T* x, const T* dy, const T* z, const T* h, T* dz,
                              const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2,
                              double* sample_sq = nullptr);

}  // namespace jetpinn::cuda
