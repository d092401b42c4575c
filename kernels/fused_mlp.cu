// Fused jet-MLP forward and backward (see fused_mlp.h). One block of 256 threads (8 warps) per tile of TP points;
// the tile holds R = S*TP jet rows (row r = s*TP + p: stream s of point p, stream-major like the tensors) in
// shared memory, R <= 8 * RPW (RPW rows per warp: 8 in float, 4 in double).
// Shared memory: act (8*RPW x lda, lda = max(inputs, width, outputs)) and the staged weights wt (K x (N+1); the
// +1 pad spreads the transposing stores over the banks). Tile GEMM: warp w owns rows w, w+8, ...; lane owns
// columns lane, lane+32, lane+64, lane+96; act[r][k] is a broadcast read, wt[k][c] a conflict-free row read.
// Barrier pattern per layer: GEMM (reads act, wt) | sync | write act, stage next wt | sync | jets in place | sync.
// Rows r >= R of act are zeroed once and never written; points p >= np of a ragged last tile read zeros and are
// never stored. Compiled with nvcc for sm_90; NOT yet run on a device.
#include <algorithm>

#include "cuda_check.h"
#include "fused_mlp.h"

namespace jetpinn::cuda {

namespace {
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

template <class T>
__global__ void __launch_bounds__(THREADS)
    fused_mlp_forward_kernel(const FusedMlpShape sh, const __grid_constant__ FlatRules rules, const Geometry g,
                             const T* __restrict__ params, const T* __restrict__ x, T* __restrict__ y,
                             T* __restrict__ z, T* __restrict__ h) {
  constexpr int RPW = Tile<T>::RPW;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* act = reinterpret_cast<T*>(smem_raw);
  T* wt = act + MAX_ROWS<T> * g.lda;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const std::ptrdiff_t p0 = std::ptrdiff_t(blockIdx.x) * g.TP;
  const int np = static_cast<int>(g.P - p0 < g.TP ? g.P - p0 : g.TP);
  const std::ptrdiff_t block = std::ptrdiff_t(g.S) * g.P * sh.width;  // one saved layer

  load_tile<T>(g, p0, np, x, sh.inputs, act);
  stage_transposed<T>(params + w_off(sh, 0), layer_out(sh, 0), layer_in(sh, 0), wt);
  __syncthreads();
  for (int l = 0; l <= sh.depth; ++l) {
    const int K = layer_in(sh, l), N = layer_out(sh, l);
    const bool last = l == sh.depth;
    T acc[RPW][COLS_PER_LANE];
    tile_gemm<T, RPW>(act, g.lda, wt, K, N, acc);
    __syncthreads();  // every read of act and wt is done
    const T* __restrict__ b = params + b_off(sh, l);
    T* zl = (z && !last) ? z + l * block : nullptr;
#pragma unroll
    for (int i = 0; i < RPW; ++i) {
      const int r = warp + WARPS * i;
      if (r >= g.R) continue;
      const int s = r / g.TP, p = r % g.TP;
      const std::ptrdiff_t row = s * g.P + p0 + p;  // global row of this (stream, point)
#pragma unroll
      for (int j = 0; j < COLS_PER_LANE; ++j) {
        const int o = lane + 32 * j;
        if (o >= N) continue;
        const T v = acc[i][j] + (s == 0 ? b[o] : T(0));  // bias on the value stream only
        if (last) {
          if (p < np) y[row * N + o] = v;
        } else {
          act[r * g.lda + o] = v;
          if (zl && p < np) zl[row * N + o] = v;
        }
      }
    }
    if (last) break;
    stage_transposed<T>(params + w_off(sh, l + 1), layer_out(sh, l + 1), layer_in(sh, l + 1), wt);
    __syncthreads();  // z_l complete in act
    // Activation jets in place: element (p, o) owns its S streams act[s*TP + p][o].
    T* hl = h ? h + l * block : nullptr;
    const std::ptrdiff_t stride = std::ptrdiff_t(g.TP) * g.lda;
    for (int e = threadIdx.x; e < g.TP * N; e += THREADS) {
      const int p = e / N, o = e % N;
      T* ae = act + p * g.lda + o;
      unary_jet_element_forward<T>(rules, sh.activation, sh.power, ae, stride, ae);
      if (hl && p < np)
        for (int s = 0; s < g.S; ++s) hl[(s * g.P + p0 + p) * N + o] = ae[s * stride];
    }
    __syncthreads();  // h_l complete in act, W_{l+1} staged
  }
}

template <class T>
__global__ void __launch_bounds__(THREADS)
    fused_mlp_backward_kernel(const FusedMlpShape sh, const __grid_constant__ FlatRules rules, const Geometry g,
                              const T* __restrict__ params, const T* __restrict__ dy, const T* __restrict__ z,
                              const T* __restrict__ h, T* __restrict__ dz) {
  constexpr int RPW = Tile<T>::RPW;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* act = reinterpret_cast<T*>(smem_raw);
  T* wt = act + MAX_ROWS<T> * g.lda;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const std::ptrdiff_t p0 = std::ptrdiff_t(blockIdx.x) * g.TP;
  const int np = static_cast<int>(g.P - p0 < g.TP ? g.P - p0 : g.TP);
  const std::ptrdiff_t block = std::ptrdiff_t(g.S) * g.P * sh.width;
  const int W = sh.width;

  load_tile<T>(g, p0, np, dy, sh.outputs, act);
  stage_plain<T>(params + w_off(sh, sh.depth), layer_out(sh, sh.depth), layer_in(sh, sh.depth), wt);
  __syncthreads();
  for (int l = sh.depth - 1; l >= 0; --l) {
    // dh_l = (adjoint of layer l+1's output) W_{l+1}: K = out_{l+1}, N = in_{l+1} = width.
    T acc[RPW][COLS_PER_LANE];
    tile_gemm<T, RPW>(act, g.lda, wt, layer_out(sh, l + 1), W, acc);
    __syncthreads();
#pragma unroll
    for (int i = 0; i < RPW; ++i) {
      const int r = warp + WARPS * i;
      if (r >= g.R) continue;
#pragma unroll
      for (int j = 0; j < COLS_PER_LANE; ++j) {
        const int o = lane + 32 * j;
        if (o < W) act[r * g.lda + o] = acc[i][j];
      }
    }
    if (l >= 1) stage_plain<T>(params + w_off(sh, l), layer_out(sh, l), layer_in(sh, l), wt);
    __syncthreads();  // dh_l complete in act
    // dz_l = adjoint of the activation jet at z_l: element (p, o) over its streams, in place of dh_l.
    const T* zl = z + l * block;
    const T* hl = h + l * block;
    T* dzl = dz + l * block;
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
          dzl[(s * g.P + p0 + p) * W + o] = gz[s];
        }
      } else {
        for (int s = 0; s < g.S; ++s) ae[s * stride] = T(0);
      }
    }
    __syncthreads();  // dz_l complete in act, W_l staged
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

int optin_smem(Context& ctx) {
  int v = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device()));
  return v;
}

template <class T>
void check_launch(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points, const char* what) {
  std::string why;
  JETPINN_CHECK(fused_mlp_supported<T>(ctx, s, rules.streams, &why), what << ": " << why);
  JETPINN_CHECK(points >= 1, what << ": needs at least one point");
}
}  // namespace

std::ptrdiff_t fused_w_offset(const FusedMlpShape& s, int layer) { return w_off(s, layer); }
std::ptrdiff_t fused_b_offset(const FusedMlpShape& s, int layer) { return b_off(s, layer); }
std::ptrdiff_t fused_param_count(const FusedMlpShape& s) { return w_off(s, s.depth + 1); }

template <class T>
bool fused_mlp_supported(Context& ctx, const FusedMlpShape& s, int streams, std::string* why) {
  auto no = [&](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  const std::string fallback = "; use the cuBLAS path (DeviceMlp::Path::Cublas)";
  if (s.width < 1 || s.width > FUSED_MAX_WIDTH)
    return no("width must be 1.." + std::to_string(FUSED_MAX_WIDTH) + " for the fused kernel, got " +
              std::to_string(s.width) + fallback);
  if (s.inputs < 1 || s.inputs > FUSED_MAX_WIDTH)
    return no("inputs must be 1.." + std::to_string(FUSED_MAX_WIDTH) + " for the fused kernel, got " +
              std::to_string(s.inputs) + fallback);
  if (s.outputs < 1 || s.outputs > FUSED_MAX_WIDTH)
    return no("outputs must be 1.." + std::to_string(FUSED_MAX_WIDTH) + " for the fused kernel, got " +
              std::to_string(s.outputs) + fallback);
  if (s.depth < 1) return no("the fused kernel needs at least one hidden layer, got depth " + std::to_string(s.depth));
  if (streams < 1 || streams > std::min(MAX_STREAMS, MAX_ROWS<T>))
    return no("the fused kernel takes 1.." + std::to_string(std::min(MAX_STREAMS, MAX_ROWS<T>)) +
              " jet streams in this precision, got " + std::to_string(streams) + fallback);
  const Geometry g = geometry<T>(s, streams, 1);
  const std::size_t need = smem_bytes<T>(s, g);
  const int have = optin_smem(ctx);
  if (need > static_cast<std::size_t>(have))
    return no("the fused kernel needs " + std::to_string(need) + " bytes of shared memory, the device allows " +
              std::to_string(have) + fallback);
  return true;
}

template <class T>
void fused_mlp_forward(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points,
                       const T* params, const T* x, T* y, T* z, T* h) {
  check_launch<T>(ctx, s, rules, points, "fused_mlp_forward");
  JETPINN_CHECK((z == nullptr) == (h == nullptr), "fused_mlp_forward: save both z and h (training) or neither");
  const Geometry g = geometry<T>(s, rules.streams, points);
  const std::size_t smem = smem_bytes<T>(s, g);
  CUDA_CHECK(cudaFuncSetAttribute(fused_mlp_forward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(smem)));
  const std::ptrdiff_t tiles = (points + g.TP - 1) / g.TP;
  JETPINN_CHECK(tiles <= 0x7fffffff, "fused_mlp_forward: " << points << " points exceed one grid");
  fused_mlp_forward_kernel<T><<<static_cast<unsigned>(tiles), THREADS, smem, static_cast<cudaStream_t>(ctx.stream())>>>(
      s, rules, g, params, x, y, z, h);
  CUDA_CHECK_LAUNCH("fused_mlp_forward_kernel");
}

template <class T>
void fused_mlp_backward(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points,
                        const T* params, const T* dy, const T* z, const T* h, T* dz) {
  check_launch<T>(ctx, s, rules, points, "fused_mlp_backward");
  JETPINN_CHECK(z && h && dz, "fused_mlp_backward: needs the saved z and h of the forward pass and a dz buffer");
  const Geometry g = geometry<T>(s, rules.streams, points);
  const std::size_t smem = smem_bytes<T>(s, g);
  CUDA_CHECK(cudaFuncSetAttribute(fused_mlp_backward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(smem)));
  const std::ptrdiff_t tiles = (points + g.TP - 1) / g.TP;
  JETPINN_CHECK(tiles <= 0x7fffffff, "fused_mlp_backward: " << points << " points exceed one grid");
  fused_mlp_backward_kernel<T><<<static_cast<unsigned>(tiles), THREADS, smem, static_cast<cudaStream_t>(ctx.stream())>>>(
      s, rules, g, params, dy, z, h, dz);
  CUDA_CHECK_LAUNCH("fused_mlp_backward_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                                                     \
  template bool fused_mlp_supported<T>(Context&, const FusedMlpShape&, int, std::string*);                       \
  template void fused_mlp_forward<T>(Context&, const FusedMlpShape&, const FlatRules&, std::ptrdiff_t, const T*, \
                                     const T*, T*, T*, T*);                                                       \
  template void fused_mlp_backward<T>(Context&, const FusedMlpShape&, const FlatRules&, std::ptrdiff_t, const T*, \
                                      const T*, const T*, const T*, T*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
