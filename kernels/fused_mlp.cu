// Fused jet-MLP forward and backward (see fused_mlp.h). One block of 256 threads (8 warps) per tile of TP points;
// the tile holds R = S*TP jet rows (row r = s*TP + p: stream s of point p, stream-major like the tensors) in
// shared memory, R <= 8 * RPW (RPW rows per warp: 8 in float, 4 in double).
// Shared memory: act (8*RPW x lda, lda = max(inputs, width, outputs)) and the staged weights wt (K x (N+1); the
// +1 pad spreads the transposing stores over the banks). Tile GEMM: warp w owns rows w, w+8, ...; lane owns
// columns lane, lane+32, lane+64, lane+96; act[r][k] is a broadcast read, wt[k][c] a conflict-free row read.
// Barrier pattern per layer: GEMM (reads act, wt) | sync | write act, stage next wt | sync | jets in place | sync.
// Rows r >= R of act are zeroed once and never written; points p >= np of a ragged last tile read zeros and are
// never stored.
#include <algorithm>

#include "cuda_check.h"
#include "launch.h"
#include "fused_mlp.h"
#include "fused_mlp_tile.cuh"

namespace jetpinn::cuda {

namespace {
using namespace fused_detail;

template <class T>
__global__ void __launch_bounds__(THREADS)
    fused_mlp_forward_kernel(const FusedMlpShape sh, const __grid_constant__ FlatRules rules, const Geometry g,
                             const T* __restrict__ params, const T* __restrict__ x, T* __restrict__ y,
                             T* __restrict__ z, T* __restrict__ h) {
  constexpr int RPW = Tile<T>::RPW;
  JETPINN_DYNAMIC_SHARED(unsigned char, smem_raw, 16);
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
  JETPINN_DYNAMIC_SHARED(unsigned char, smem_raw, 16);
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
    activation_adjoint_in_place<T>(sh, rules, g, p0, np, z + l * block, h + l * block, dz + l * block, act);
    __syncthreads();  // dz_l complete in act, W_l staged
  }
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
  JETPINN_LAUNCH(fused_mlp_forward_kernel<T>, static_cast<unsigned>(tiles), THREADS, smem, static_cast<cudaStream_t>(ctx.stream()))(
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
  JETPINN_LAUNCH(fused_mlp_backward_kernel<T>, static_cast<unsigned>(tiles), THREADS, smem, static_cast<cudaStream_t>(ctx.stream()))(
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
