// Helpers of the CUDA test binary: one shared Context, fresh random inputs (fixed seeds, never all zeros), and
// a normwise relative error max|a - b| / max|b| against a float64 CPU reference, taken per block: a jet of S
// streams (S*P rows, stream-major) is S contiguous blocks, a parameter vector one block per weight and bias, and
// each block is compared with its own norm, so a small stream (u beside a large u_xx) cannot hide its error under
// a large one. The share of the tolerance used is printed for every check. Tolerances: float64 1e-12 (the device
// and the CPU differ only in operation order and libm ulps); float32 1e-5 against a float64 reference from the
// same (float-rounded) inputs (float epsilon 6e-8 times the growth of a chain of O(100)-term sums, with margin).
// These tests run on the emulated device in CI (tools/emulate.sh); their status on a GPU: kernels/README.md.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "device_context.h"
#include "device_tensor.h"

namespace ct {

using jetpinn::cuda::Context;
using jetpinn::cuda::DeviceTensor;

inline Context& ctx() {
  static Context c(0);
  return c;
}

template <class T>
constexpr double tol() {
  return std::is_same_v<T, double> ? 1e-12 : 1e-5;
}

// Uniform in [lo, hi), drawn in double then rounded to T; the double copy is what the CPU reference uses.
template <class T>
struct Data {
  std::vector<T> t;
  std::vector<double> d;
};
template <class T>
Data<T> random_data(std::size_t n, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Data<T> r;
  r.t.resize(n);
  r.d.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    r.t[i] = static_cast<T>(u(rng));
    r.d[i] = static_cast<double>(r.t[i]);
  }
  return r;
}

template <class T>
DeviceTensor<T> upload(const std::vector<T>& v, std::ptrdiff_t rows, std::ptrdiff_t cols) {
  DeviceTensor<T> d(ctx(), rows, cols);
  REQUIRE(static_cast<std::ptrdiff_t>(v.size()) == rows * cols);
  d.upload_raw(v.data());
  return d;
}

template <class T>
std::vector<double> download(const DeviceTensor<T>& d) {
  const std::vector<T> h = d.to_host();
  return std::vector<double>(h.begin(), h.end());
}

// Sizes of contiguous blocks that partition a buffer, compared each with its own norm. Empty: one block.
using Blocks = std::vector<std::size_t>;

// `count` equal blocks of a buffer of n entries: the S streams of a jet (S*P rows, stream-major), the depth*S
// (layer, stream) blocks of a stack's saved activations, the batches of a strided-batched GEMM.
inline Blocks equal_blocks(std::size_t n, std::size_t count) {
  REQUIRE(count > 0);
  REQUIRE(n % count == 0);
  return Blocks(count, n / count);
}

// max |a - b| / max |b| over [begin, end) (max |a - b| where b is zero there); infinity if anything is not finite.
inline double rel_err_range(const std::vector<double>& a, const std::vector<double>& b, std::size_t begin, std::size_t end) {
  double num = 0, den = 0;
  for (std::size_t i = begin; i < end; ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

// Whole-buffer normwise relative error (one block).
inline double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  return rel_err_range(a, b, 0, a.size());
}

// Normwise relative error of each block of `blocks` (empty: the whole buffer is one block); they must cover it.
inline std::vector<double> block_errors(const std::vector<double>& a, const std::vector<double>& b, const Blocks& blocks) {
  REQUIRE(a.size() == b.size());
  const Blocks bl = blocks.empty() ? Blocks{a.size()} : blocks;
  std::vector<double> e;
  std::size_t at = 0;
  for (std::size_t n : bl) {
    e.push_back(rel_err_range(a, b, at, at + n));
    at += n;
  }
  REQUIRE_MESSAGE(at == a.size(), "blocks cover " << at << " of " << a.size() << " entries");
  return e;
}

struct BlockError {
  double error = 0;       // the largest block's normwise relative error
  std::size_t block = 0;  // which block
};
// The worst block and its index.
inline BlockError rel_err_blocks(const std::vector<double>& a, const std::vector<double>& b, const Blocks& blocks) {
  const std::vector<double> e = block_errors(a, b, blocks);
  BlockError worst{-1, 0};
  for (std::size_t k = 0; k < e.size(); ++k)
    if (!(e[k] <= worst.error)) worst = {e[k], k};  // NaN-safe: infinity wins
  return worst;
}

// CHECK that `actual` matches `expected` within `tolerance`, normwise relative in every block of `blocks`
// (empty: the whole buffer is one block), printing the share of the tolerance the worst block used.
inline void check_close(const std::string& what, const std::vector<double>& actual, const std::vector<double>& expected,
                        double tolerance, const Blocks& blocks = {}) {
  const BlockError e = rel_err_blocks(actual, expected, blocks);
  std::string where;
  if (blocks.size() > 1) {  // the whole-buffer figure beside it shows what a single norm would have hidden
    std::ostringstream w;
    w << " (worst of " << blocks.size() << " blocks: " << e.block << "; whole buffer " << rel_err(actual, expected) << ")";
    where = w.str();
  }
  MESSAGE(what << ": relative error " << e.error << where << " (" << 100.0 * e.error / tolerance << "% of tolerance "
               << tolerance << ")");
  CHECK_MESSAGE(e.error <= tolerance, what << ": relative error " << e.error << where << " > " << tolerance);
}

// One block per layer of a ParamStore-like layout (count(), info(i).name / size(), in order): "layer2.W" and
// "layer2.b" together. A layer's weight and bias gradients share its adjoint dz (dW = dz^T h with |h| <= 1,
// db = sum dz), so they have one scale; different layers need not. (A one-output layer's bias alone would be a
// single entry, a sum over points whose relative error is as ill-conditioned as the sum is small.)
template <class Store>
Blocks param_blocks(const Store& params) {
  Blocks b;
  std::string prev;
  for (int i = 0; i < params.count(); ++i) {
    const std::string& name = params.info(i).name;
    const std::string layer = name.substr(0, name.rfind('.'));
    const auto n = static_cast<std::size_t>(params.info(i).size());
    if (i > 0 && layer == prev)
      b.back() += n;
    else
      b.push_back(n);
    prev = layer;
  }
  return b;
}

// As check_close, but a block may use up to `factor` times the error that `peer` makes there, where that is larger
// than `tolerance`. `peer` is the CPU (the specification) computing the same thing in the same precision T on the
// same inputs: against a float64 reference, float32 cannot do better than the conditioning of the quantity (a
// small cross-derivative stream that is a difference of larger terms, a layer's gradient summed over thousands of
// points), and the CPU's own float32 error shows that floor. The device is held to the CPU's accuracy, not above it.
inline void check_close_peer(const std::string& what, const std::vector<double>& actual,
                             const std::vector<double>& expected, const std::vector<double>& peer, double tolerance,
                             const Blocks& blocks, double factor = 2) {
  REQUIRE(peer.size() == expected.size());
  const std::vector<double> e = block_errors(actual, expected, blocks), p = block_errors(peer, expected, blocks);
  double worst_share = -1, worst_tol = tolerance;
  std::size_t worst = 0;
  for (std::size_t k = 0; k < e.size(); ++k) {
    const double t = std::max(tolerance, factor * p[k]);
    const double share = std::isfinite(e[k]) ? e[k] / t : INFINITY;
    if (!(share <= worst_share)) {
      worst_share = share;
      worst_tol = t;
      worst = k;
    }
  }
  MESSAGE(what << ": relative error " << e[worst] << " in block " << worst << " of " << e.size() << " (the CPU's "
               << p[worst] << " there; tolerance " << worst_tol << ", " << 100.0 * worst_share << "% used)");
  CHECK_MESSAGE(worst_share <= 1.0, what << ": relative error " << e[worst] << " in block " << worst << " > "
                                         << worst_tol << " (the CPU in the same precision: " << p[worst] << ")");
}

// A jet of `streams` streams (stream-major): each stream its own block.
inline void check_close_streams(const std::string& what, const std::vector<double>& actual,
                                const std::vector<double>& expected, double tolerance, int streams) {
  check_close(what, actual, expected, tolerance, equal_blocks(expected.size(), static_cast<std::size_t>(streams)));
}

}  // namespace ct
