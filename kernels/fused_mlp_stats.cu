// Fused backward with batch statistics (see fused_mlp.h). Grid: one block per chunk, a run of up to CT tiles of
// one batch (batch_stats_rule.h's locate_chunk); a tile is TP points of that batch with all S streams, as in
// the plain backward (fused_mlp.cu), and never straddles two batches. Per tile and layer l, with the adjoint
// adj (dy, then dz_l) in act and the layer input (h_{l-1}, x for l = 0) loaded into inp:
//   Gw[o][k] += sum_{r < R} adj[r][o] inp[r][k],   Gb[o] += sum_{p < TP} adj[p][o]  (value rows: s = 0)
// on a 16 x 16 thread grid, each thread 8 x 8 entries (o = ty + 16 i, k = tx + 16 j), into the chunk's own
// partial (all fused_param_count entries, flat parameter order) in global memory: the first tile writes, the
// others add; the same thread owns the same entries for the whole chunk, so no atomics and no races. Rows of
// points p >= np of a ragged tile are zero in act and inp. Shared memory: act and inp (MAX_ROWS x lda each),
// wt as in the backward (about 130 KB in float, 196 KB in double at width 128).
// The combine kernel sums each batch's chunk partials in chunk order, then G, S1, S2 (combine_chunk_partials).
// Per-sample squared norms (sample_sq non-null: the SQ instantiation; the null case is the kernel without them):
// per tile and layer, after the G_b accumulation and while adj and inp are still in shared memory, warp w takes
// the items e = (p S + s) S + t with t >= s, e = w, w + 8, ..., and adds
//   (s == t ? 1 : 2) (adj_{s,p} . adj_{t,p}) (inp_{s,p} . inp_{t,p})   (the weight's ||g_p||^2),
// and the points p = w, w + 8, ... their |adj_{0,p}|^2 (the bias's), in double; lane 0 writes (first tile) or
// adds them into the warp's own double partial (chunk, warp) in scratch; the combine kernel sums those in
// (chunk, warp) order. Fixed assignment and order: deterministic, no atomics.
// CT = max(1, tiles / (2 x SMs)): a fixed function of the shape and the device, so results are reproducible.
#include <algorithm>

#include "batch_stats_rule.h"
#include "cuda_check.h"
#include "launch.h"
#include "fused_mlp.h"
#include "fused_mlp_tile.cuh"

namespace jetpinn::cuda {

namespace {
using namespace fused_detail;

constexpr int STAT_SPLIT = 16, STAT_PER = FUSED_MAX_WIDTH / STAT_SPLIT;  // 16 x 16 threads, 8 x 8 entries each
static_assert(STAT_SPLIT * STAT_SPLIT == THREADS, "the statistics grid is one thread per block thread");

// The batch split and the chunking, by value (a __grid_constant__ parameter; about 2 KB, within sm_90's 32 KB
// parameter space).
struct ChunkTable {
  int batches = 0, tiles_per_chunk = 1;
  Index off[FUSED_STATS_MAX_BATCHES + 1] = {};
};

// dst[r][c] = row (s, p0 + p) of a global jet tensor (S*P x cols) for r = s*TP + p < R; zeros for p >= np.
template <class T>
__device__ void load_rows(const Geometry& g, std::ptrdiff_t p0, int np, const T* __restrict__ src, int cols, T* dst) {
  for (int e = threadIdx.x; e < g.R * cols; e += THREADS) {
    const int r = e / cols, c = e % cols, s = r / g.TP, p = r % g.TP;
    dst[r * g.lda + c] = p < np ? src[(s * g.P + p0 + p) * cols + c] : T(0);
  }
}

// gw (out x in, row-major like W) and gb (out): the tile's share of one layer's G_b, written (first) or added.
template <class T>
__device__ void accumulate_layer_stats(const Geometry& g, const T* adj, int out, const T* inp, int in,
                                       T* __restrict__ gw, T* __restrict__ gb, bool first) {
  const int tx = threadIdx.x % STAT_SPLIT, ty = threadIdx.x / STAT_SPLIT;
  T acc[STAT_PER][STAT_PER];
#pragma unroll
  for (int i = 0; i < STAT_PER; ++i)
#pragma unroll
    for (int j = 0; j < STAT_PER; ++j) acc[i][j] = T(0);
  for (int r = 0; r < g.R; ++r) {
    T a[STAT_PER], b[STAT_PER];
#pragma unroll
    for (int i = 0; i < STAT_PER; ++i) {
      const int o = ty + STAT_SPLIT * i;
      a[i] = o < out ? adj[r * g.lda + o] : T(0);
    }
#pragma unroll
    for (int j = 0; j < STAT_PER; ++j) {
      const int k = tx + STAT_SPLIT * j;
      b[j] = k < in ? inp[r * g.lda + k] : T(0);
    }
#pragma unroll
    for (int i = 0; i < STAT_PER; ++i)
#pragma unroll
      for (int j = 0; j < STAT_PER; ++j) acc[i][j] += a[i] * b[j];
  }
#pragma unroll
  for (int i = 0; i < STAT_PER; ++i) {
    const int o = ty + STAT_SPLIT * i;
    if (o >= out) continue;
#pragma unroll
    for (int j = 0; j < STAT_PER; ++j) {
      const int k = tx + STAT_SPLIT * j;
      if (k >= in) continue;
      T* e = gw + std::ptrdiff_t(o) * in + k;
      *e = first ? acc[i][j] : *e + acc[i][j];
    }
  }
  if (static_cast<int>(threadIdx.x) < out) {
    T v = T(0);
    for (int p = 0; p < g.TP; ++p) v += adj[p * g.lda + threadIdx.x];  // stream 0 rows r = p
    gb[threadIdx.x] = first ? v : gb[threadIdx.x] + v;
  }
}

// The tile's share of one layer's sum over points of ||g_p||^2 for the weight (wsq[0]) and the bias (wsq[1]):
// this warp's items (see the top of the file), in double, written (first) or added by lane 0. Reads adj and inp
// only (no barrier needed before or after, beyond the ones around the G_b accumulation).
template <class T>
__device__ void accumulate_layer_sample_sq(const Geometry& g, int np, const T* adj, int out, const T* inp, int in,
                                           double* __restrict__ wsq, bool first) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, S = g.S;
  double wt = 0, bt = 0;
  for (int e = warp; e < np * S * S; e += WARPS) {  // e is uniform across the warp, so are p, s, t
    const int p = e / (S * S), s = (e / S) % S, t = e % S;
    if (t < s) continue;  // (t, s) is counted twice at (s, t)
    const T* ys = adj + (s * g.TP + p) * g.lda;
    const T* yt = adj + (t * g.TP + p) * g.lda;
    const T* as = inp + (s * g.TP + p) * g.lda;
    const T* at = inp + (t * g.TP + p) * g.lda;
    double dd = 0, da = 0;
    for (int c = lane; c < out; c += 32) dd += static_cast<double>(ys[c]) * static_cast<double>(yt[c]);
    for (int c = lane; c < in; c += 32) da += static_cast<double>(as[c]) * static_cast<double>(at[c]);
    for (int m = 16; m > 0; m >>= 1) {
      dd += __shfl_xor_sync(0xffffffffu, dd, m);
      da += __shfl_xor_sync(0xffffffffu, da, m);
    }
    wt += (s == t ? 1.0 : 2.0) * dd * da;
  }
  for (int p = warp; p < np; p += WARPS) {  // the bias's g_p: the value-stream row r = p
    const T* y0 = adj + p * g.lda;
    double dd = 0;
    for (int c = lane; c < out; c += 32) dd += static_cast<double>(y0[c]) * static_cast<double>(y0[c]);
    for (int m = 16; m > 0; m >>= 1) dd += __shfl_xor_sync(0xffffffffu, dd, m);
    bt += dd;
  }
  if (lane == 0) {
    wsq[0] = first ? wt : wsq[0] + wt;
    wsq[1] = first ? bt : wsq[1] + bt;
  }
}

// SQ: also the per-sample squared norms into psq (chunks x WARPS x 2 (depth + 1) doubles); unused otherwise.
template <class T, bool SQ>
__global__ void __launch_bounds__(THREADS)
    fused_mlp_backward_stats_kernel(const FusedMlpShape sh, const __grid_constant__ FlatRules rules, const Geometry g,
                                    const __grid_constant__ ChunkTable tab, std::ptrdiff_t nparams,
                                    const T* __restrict__ params, const T* __restrict__ x, const T* __restrict__ dy,
                                    const T* __restrict__ z, const T* __restrict__ h, T* __restrict__ dz,
                                    T* __restrict__ partial, double* __restrict__ psq) {
  constexpr int RPW = Tile<T>::RPW;
  JETPINN_DYNAMIC_SHARED(unsigned char, smem_raw, 16);
  T* act = reinterpret_cast<T*>(smem_raw);
  T* inp = act + MAX_ROWS<T> * g.lda;
  T* wt = inp + MAX_ROWS<T> * g.lda;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  Index q0 = 0, q1 = 0;
  if (locate_chunk(tab.off, tab.batches, g.TP, tab.tiles_per_chunk, Index(blockIdx.x), q0, q1) < 0) return;  // whole block
  T* part = partial + std::ptrdiff_t(blockIdx.x) * nparams;
  const std::ptrdiff_t block = std::ptrdiff_t(g.S) * g.P * sh.width;
  const int W = sh.width;
  double* wsq = nullptr;  // this warp's per-sample partial: 2 (depth + 1) doubles, parameter order
  if constexpr (SQ) wsq = psq + (std::ptrdiff_t(blockIdx.x) * WARPS + warp) * (2 * (sh.depth + 1));

  for (std::ptrdiff_t p0 = q0; p0 < q1; p0 += g.TP) {
    const bool first = p0 == q0;
    const int np = static_cast<int>(q1 - p0 < g.TP ? q1 - p0 : g.TP);
    load_tile<T>(g, p0, np, dy, sh.outputs, act);
    stage_plain<T>(params + w_off(sh, sh.depth), layer_out(sh, sh.depth), layer_in(sh, sh.depth), wt);
    for (int l = sh.depth - 1; l >= 0; --l) {
      // act: the adjoint of layer l+1's output; inp: its input h_l.
      load_rows<T>(g, p0, np, h + l * block, W, inp);
      __syncthreads();
      accumulate_layer_stats<T>(g, act, layer_out(sh, l + 1), inp, W, part + w_off(sh, l + 1), part + b_off(sh, l + 1),
                                first);
      if constexpr (SQ)
        accumulate_layer_sample_sq<T>(g, np, act, layer_out(sh, l + 1), inp, W, wsq + 2 * (l + 1), first);
      // dh_l = adj W_{l+1}, then dz_l in place, exactly as fused_mlp_backward_kernel.
      T acc[RPW][COLS_PER_LANE];
      tile_gemm<T, RPW>(act, g.lda, wt, layer_out(sh, l + 1), W, acc);
      __syncthreads();  // every read of act, inp and wt is done
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
      activation_adjoint_in_place<T>(sh, rules, g, p0, np, z + l * block, h + l * block, dz ? dz + l * block : nullptr,
                                     act);
      __syncthreads();  // dz_l complete in act, W_l staged
    }
    // Layer 0: adjoint dz_0, input x.
    load_rows<T>(g, p0, np, x, sh.inputs, inp);
    __syncthreads();
    accumulate_layer_stats<T>(g, act, W, inp, sh.inputs, part + w_off(sh, 0), part + b_off(sh, 0), first);
    if constexpr (SQ) accumulate_layer_sample_sq<T>(g, np, act, W, inp, sh.inputs, wsq, first);
    __syncthreads();  // act and inp are reloaded by the next tile
  }
}

// Also, when sample_sq is set, entry j < nsq of the per-sample norms: the sum of the sq_parts warp partials of
// psq in order (nsq <= nparams: every layer has at least one weight and one bias entry).
template <class T>
__global__ void combine_chunk_stats_kernel(std::ptrdiff_t nparams, const __grid_constant__ ChunkTable tab, int TP,
                                           const T* __restrict__ partial, T* __restrict__ G, T* __restrict__ S1,
                                           double* __restrict__ S2, int nsq, std::ptrdiff_t sq_parts,
                                           const double* __restrict__ psq, double* __restrict__ sample_sq) {
  const std::ptrdiff_t j = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= nparams) return;
  if (sample_sq && j < nsq) {
    double v = 0;
    for (std::ptrdiff_t q = 0; q < sq_parts; ++q) v += psq[q * nsq + j];
    sample_sq[j] = v;
  }
  T g, s1;
  double s2;
  combine_chunk_partials<T>(partial, nparams, j, tab.off, tab.batches, TP, tab.tiles_per_chunk, g, s1, s2);
  G[j] = g;
  S1[j] = s1;
  S2[j] = s2;
}

template <class T>
std::size_t stats_smem_bytes(const FusedMlpShape& s, const Geometry& g) {
  return smem_bytes<T>(s, g) + static_cast<std::size_t>(MAX_ROWS<T>) * static_cast<std::size_t>(g.lda) * sizeof(T);
}
}  // namespace

template <class T>
bool fused_mlp_stats_supported(Context& ctx, const FusedMlpShape& s, int streams, std::string* why) {
  if (!fused_mlp_supported<T>(ctx, s, streams, why)) return false;
  const std::size_t need = stats_smem_bytes<T>(s, geometry<T>(s, streams, 1));
  const int have = optin_smem(ctx);
  if (need > static_cast<std::size_t>(have)) {
    if (why)
      *why = "the fused statistics kernel needs " + std::to_string(need) + " bytes of shared memory, the device allows " +
             std::to_string(have) + "; use the separate statistics (StatsPath::Separate)";
    return false;
  }
  return true;
}

template <class T>
void fused_mlp_backward_stats(Context& ctx, const FusedMlpShape& s, const FlatRules& rules, std::ptrdiff_t points,
                              const T* params, const T* x, const T* dy, const T* z, const T* h, T* dz,
                              const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2,
                              double* sample_sq) {
  std::string why;
  JETPINN_CHECK(fused_mlp_stats_supported<T>(ctx, s, rules.streams, &why), "fused_mlp_backward_stats: " << why);
  JETPINN_CHECK(points >= 1, "fused_mlp_backward_stats: needs at least one point");
  JETPINN_CHECK(x && dy && z && h && G && S1 && S2,
                "fused_mlp_backward_stats: needs the input jet, dy, the saved z and h, and G, S1, S2 buffers");
  const int B = static_cast<int>(offsets.size()) - 1;
  JETPINN_CHECK(B >= 1 && B <= FUSED_STATS_MAX_BATCHES,
                "fused_mlp_backward_stats: 1.." << FUSED_STATS_MAX_BATCHES << " batches, got " << B);
  JETPINN_CHECK(offsets.front() == 0 && offsets.back() == points,
                "fused_mlp_backward_stats: batch offsets must run from 0 to the point count " << points);
  const Geometry g = geometry<T>(s, rules.streams, points);
  ChunkTable tab;
  tab.batches = B;
  std::ptrdiff_t tiles = 0;
  for (int b = 0; b <= B; ++b) tab.off[b] = offsets[static_cast<std::size_t>(b)];
  for (int b = 0; b < B; ++b) {
    const std::ptrdiff_t n = tab.off[b + 1] - tab.off[b];
    JETPINN_CHECK(n >= 1, "fused_mlp_backward_stats: batch " << b << " is empty (offsets must increase)");
    tiles += (n + g.TP - 1) / g.TP;
  }
  int sms = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ctx.device()));
  tab.tiles_per_chunk = static_cast<int>(std::max<std::ptrdiff_t>(1, tiles / (2 * std::max(sms, 1))));
  std::ptrdiff_t chunks = 0;
  for (int b = 0; b < B; ++b) chunks += batch_chunk_count(tab.off[b + 1] - tab.off[b], g.TP, tab.tiles_per_chunk);
  JETPINN_CHECK(chunks <= 0x7fffffff, "fused_mlp_backward_stats: " << points << " points exceed one grid");
  const std::ptrdiff_t nparams = fused_param_count(s);
  // Scratch: the T partials, then (sample_sq only) the double warp partials from a 256-byte boundary.
  const int nsq = 2 * (s.depth + 1);
  const std::ptrdiff_t sq_parts = sample_sq ? chunks * WARPS : 0;
  const std::size_t part_bytes = sizeof(T) * static_cast<std::size_t>(chunks * nparams);
  const std::size_t sq_at = (part_bytes + 255) / 256 * 256;
  unsigned char* scratch = static_cast<unsigned char*>(
      ctx.scratch(sample_sq ? sq_at + sizeof(double) * static_cast<std::size_t>(sq_parts * nsq) : part_bytes));
  T* partial = reinterpret_cast<T*>(scratch);
  double* psq = sample_sq ? reinterpret_cast<double*>(scratch + sq_at) : nullptr;
  const std::size_t smem = stats_smem_bytes<T>(s, g);
  const cudaStream_t st = static_cast<cudaStream_t>(ctx.stream());
  if (sample_sq) {
    CUDA_CHECK(cudaFuncSetAttribute(fused_mlp_backward_stats_kernel<T, true>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    JETPINN_LAUNCH((fused_mlp_backward_stats_kernel<T, true>), static_cast<unsigned>(chunks), THREADS, smem, st)(
        s, rules, g, tab, nparams, params, x, dy, z, h, dz, partial, psq);
  } else {
    CUDA_CHECK(cudaFuncSetAttribute(fused_mlp_backward_stats_kernel<T, false>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    JETPINN_LAUNCH((fused_mlp_backward_stats_kernel<T, false>), static_cast<unsigned>(chunks), THREADS, smem, st)(
        s, rules, g, tab, nparams, params, x, dy, z, h, dz, partial, nullptr);
  }
  CUDA_CHECK_LAUNCH("fused_mlp_backward_stats_kernel");
  const int threads = 256;
  JETPINN_LAUNCH(combine_chunk_stats_kernel<T>, static_cast<unsigned>((nparams + threads - 1) / threads), threads, 0, st)(
      nparams, tab, g.TP, partial, G, S1, S2, nsq, sq_parts, psq, sample_sq);
  CUDA_CHECK_LAUNCH("combine_chunk_stats_kernel");
}

#define JETPINN_INSTANTIATE(T)                                                                                       \
  template bool fused_mlp_stats_supported<T>(Context&, const FusedMlpShape&, int, std::string*);                   \
  template void fused_mlp_backward_stats<T>(Context&, const FusedMlpShape&, const FlatRules&, std::ptrdiff_t,       \
                                            const T*, const T*, const T*, const T*, const T*, T*,                   \
                                            const std::vector<std::ptrdiff_t>&, T*, T*, double*, double*);
JETPINN_INSTANTIATE(float)
JETPINN_INSTANTIATE(double)

}  // namespace jetpinn::cuda
