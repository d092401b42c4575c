// Shared pieces of the fused jet-MLP kernels (fused_mlp.cu, fused_mlp_stats.cu): tile geometry, weight
// staging, the warp-tiled shared-memory GEMM, tile loading and the in-place activation adjoint. Layout and
// barrier conventions are described at the top of fused_mlp.cu. For the backend's .cu files only.
#pragma once
#include <algorithm>

#include "cuda_check.h"
#include "fused_mlp.h"

namespace jetpinn::cuda::fused_detail {

constexpr int WARPS = 8, THREADS = WARPS * 32, COLS_PER_LANE = 4;  // 4 x 32 = FUSED_MAX_WIDTH columns
static_assert(COLS_PER_LANE * 32 == FUSED_MAX_WIDTH, "tile GEMM covers FUSED_MAX_WIDTH columns");

template <class T>
struct Tile;
template <>
struct Tile<float> {
  static constexpr int RPW = 8;
};
template <>
struct Tile<double> {
  static constexpr int RPW = 4;
};
template <class T>
constexpr int MAX_ROWS = WARPS * Tile<T>::RPW;

struct Geometry {
  int S = 1, TP = 1, R = 1, lda = 1;
  std::ptrdiff_t P = 0;
};

__host__ __device__ inline int layer_in(const FusedMlpShape& s, int l) { return l == 0 ? s.inputs : s.width; }
__host__ __device__ inline int layer_out(const FusedMlpShape& s, int l) { return l == s.depth ? s.outputs : s.width; }
__host__ __device__ inline std::ptrdiff_t w_off(const FusedMlpShape& s, int layer) {
  std::ptrdiff_t o = 0;
  for (int l = 0; l < layer; ++l) o += std::ptrdiff_t(layer_out(s, l)) * (layer_in(s, l) + 1);
  return o;
}
__host__ __device__ inline std::ptrdiff_t b_off(const FusedMlpShape& s, int layer) {
  return w_off(s, layer) + std::ptrdiff_t(layer_out(s, layer)) * layer_in(s, layer);
}

// Forward staging, transposed: wt[k][o] = W[o][k], ld out + 1.
template <class T>
__device__ void stage_transposed(const T* __restrict__ W, int out, int in, T* wt) {
  const int ldw = out + 1;
  for (int e = threadIdx.x; e < out * in; e += THREADS) wt[(e % in) * ldw + e / in] = W[e];
}
// Backward staging, as stored: wt[o][k] = W[o][k], ld in + 1.
template <class T>
__device__ void stage_plain(const T* __restrict__ W, int out, int in, T* wt) {
  const int ldw = in + 1;
  for (int e = threadIdx.x; e < out * in; e += THREADS) wt[(e / in) * ldw + e % in] = W[e];
}

// acc[i][j] = sum_{k < K} act[r_i][k] * wt[k][c_j], r_i = warp + 8 i, c_j = lane + 32 j (0 where c_j >= N).
template <class T, int RPW>
__device__ inline void tile_gemm(const T* act, int lda, const T* wt, int K, int N, T (&acc)[RPW][COLS_PER_LANE]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int ldw = N + 1;
#pragma unroll
  for (int i = 0; i < RPW; ++i)
#pragma unroll
    for (int j = 0; j < COLS_PER_LANE; ++j) acc[i][j] = T(0);
  for (int k = 0; k < K; ++k) {
    T w[COLS_PER_LANE];
#pragma unroll
    for (int j = 0; j < COLS_PER_LANE; ++j) {
      const int c = lane + 32 * j;
      w[j] = c < N ? wt[k * ldw + c] : T(0);
    }
#pragma unroll
    for (int i = 0; i < RPW; ++i) {
      const T a = act[(warp + WARPS * i) * lda + k];
#pragma unroll
      for (int j = 0; j < COLS_PER_LANE; ++j) acc[i][j] += a * w[j];
    }
  }
}

// Zero act, then load rows of a global jet tensor (S*P x cols) for this tile: act[s*TP + p][c].
template <class T>
__device__ void load_tile(const Geometry& g, std::ptrdiff_t p0, int np, const T* __restrict__ src, int cols, T* act) {
  for (int e = threadIdx.x; e < MAX_ROWS<T> * g.lda; e += THREADS) act[e] = T(0);
  __syncthreads();
  for (int e = threadIdx.x; e < g.R * cols; e += THREADS) {
    const int r = e / cols, c = e % cols, s = r / g.TP, p = r % g.TP;
    if (p < np) act[r * g.lda + c] = src[(s * g.P + p0 + p) * cols + c];
  }
}

// dz_l = adjoint of the activation jet at z_l, in place of dh_l in act: element (p, o) over its streams; rows of
// points p >= np become zeros. zl, hl: layer l's saved blocks; dzl (may be null): where to store dz_l too.
template <class T>
__device__ void activation_adjoint_in_place(const FusedMlpShape& sh, const FlatRules& rules, const Geometry& g,
                                            std::ptrdiff_t p0, int np, const T* __restrict__ zl,
                                            const T* __restrict__ hl, T* __restrict__ dzl, T* act) {
  const int W = sh.width;
  const std::ptrdiff_t stride = std::ptrdiff_t(g.TP) * g.lda;
  for (int e = threadIdx.x; e < g.TP * W; e += THREADS) {
    const int p = e / W, o = e % W;
    T* ae = act + p * g.lda + o;
    if (p < np) {
      T xs[MAX_STREAMS], dh[MAX_STREAMS], gz[MAX_STREAMS];
      for (int s = 0; s < g.S; ++s) {
        xs[s] = zl[(s * g.P + p0 + p) * W + o];
        dh[s] = ae[s * stride];
        gz[s] = T(0);
      }
      const T yv = hl[(p0 + p) * W + o];  // value stream of h_l = f(z_l)
      unary_jet_element_backward<T>(rules, sh.activation, sh.power, xs, &yv, dh, 1, gz);
      for (int s = 0; s < g.S; ++s) {
        ae[s * stride] = gz[s];
        if (dzl) dzl[(s * g.P + p0 + p) * W + o] = gz[s];
      }
    } else {
      for (int s = 0; s < g.S; ++s) ae[s * stride] = T(0);
    }
  }
}

template <class T>
Geometry geometry(const FusedMlpShape& s, int streams, std::ptrdiff_t points) {
  Geometry g;
  g.S = streams;
  g.TP = std::max(1, MAX_ROWS<T> / streams);
  g.R = streams * g.TP;
  g.lda = std::max({s.inputs, s.width, s.outputs});
  g.P = points;
  return g;
}

template <class T>
std::size_t smem_bytes(const FusedMlpShape& s, const Geometry& g) {
  std::size_t wt = 0;
  for (int l = 0; l <= s.depth; ++l) {
    const std::size_t in = static_cast<std::size_t>(layer_in(s, l)), out = static_cast<std::size_t>(layer_out(s, l));
    wt = std::max({wt, in * (out + 1), out * (in + 1)});  // forward (transposed) and backward staging
  }
  return (static_cast<std::size_t>(MAX_ROWS<T>) * static_cast<std::size_t>(g.lda) + wt) * sizeof(T);
}

inline int optin_smem(Context& ctx) {
  int v = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device()));
  return v;
}

}  // namespace jetpinn::cuda::fused_detail
