// Helpers of the CUDA test binary: one shared Context, fresh random inputs (fixed seeds, never all zeros), and
// a normwise relative error max|a - b| / max|b| against a float64 CPU reference, with the share of the tolerance
// used printed for every check. Tolerances: float64 1e-12 (the device and the CPU differ only in operation
// order and libm ulps); float32 1e-5 against a float64 reference from the same (float-rounded) inputs (float
// epsilon 6e-8 times the growth of a chain of O(100)-term sums, with margin).
// These tests run on the emulated device in CI (tools/emulate.sh); their status on a GPU: kernels/README.md.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
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

inline double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

// CHECK that `actual` matches `expected` within `tolerance` (normwise relative), printing the share used.
inline void check_close(const std::string& what, const std::vector<double>& actual, const std::vector<double>& expected,
                        double tolerance) {
  const double e = rel_err(actual, expected);
  MESSAGE(what << ": relative error " << e << " (" << 100.0 * e / tolerance << "% of tolerance " << tolerance << ")");
  CHECK_MESSAGE(e <= tolerance, what << ": relative error " << e << " > " << tolerance);
}

}  // namespace ct
