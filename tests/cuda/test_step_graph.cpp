// StepGraph on the device: a step (fill, a captured copy of two per-step scalars from pinned memory, axpy, a
// cuBLAS GEMM) captured once and replayed three times with the scalars changed between launches gives what the
// same step run eagerly gives (same kernels and cuBLAS call: tolerance 1e-12 / 1e-5 as elsewhere, though equal
// bits are expected); capture runs nothing, replays allocate nothing, and what capture forbids is refused.
#include "blas.h"
#include "cuda_test_helpers.h"
#include "elementwise.h"
#include "step_graph.h"

using namespace jetpinn::cuda;

TEST_CASE_TEMPLATE("step graph: a captured step replayed with new pinned scalars matches the eager step", T, float, double) {
  Context& c = ct::ctx();
  const int m = 48, k = 64, n2 = 40, n = k * n2;  // y (n) is the k x n2 column-major right operand
  const auto xh = ct::random_data<T>(static_cast<std::size_t>(n), 31), ah = ct::random_data<T>(static_cast<std::size_t>(m * k), 32);
  DeviceTensor<T> x = ct::upload(xh.t, n, 1), A = ct::upload(ah.t, m * k, 1), y(c, n, 1), C(c, m * n2, 1);
  T* s = c.template pinned_scalars<T>(2);
  auto step = [&] {
    fill<T>(c, n, T(1), y.data());                             // y = 1
    upload_pinned_async(c, x.data(), s, 2 * sizeof(T));         // x[0..2) = this step's scalars
    axpy<T>(c, n, T(2), x.data(), y.data());                    // y += 2 x
    gemm<T>(c, false, false, m, n2, k, T(1), A.data(), m, y.data(), k, T(0), C.data(), m);  // C = A Y
  };
  const T values[3][2] = {{T(0.5), T(-3)}, {T(7), T(0.25)}, {T(-1), T(100)}};
  std::vector<std::vector<double>> eager;
  for (const auto& v : values) {
    s[0] = v[0];
    s[1] = v[1];
    step();
    eager.push_back(ct::download(C));  // waits for the stream
  }
  // The replays must see the scalars: the three eager results differ.
  CHECK(ct::rel_err(eager[0], eager[1]) > 1e-3);

  C.set_zero();
  c.synchronize();
  const std::size_t raw = c.pool().stats().raw_allocs;
  StepGraph graph;
  CHECK_FALSE(graph.ready());
  graph.begin_capture(c);
  step();
  graph.end_capture();
  REQUIRE(graph.ready());
  const std::vector<double> untouched = ct::download(C);
  CHECK(std::all_of(untouched.begin(), untouched.end(), [](double v) { return v == 0.0; }));  // capture ran nothing
  for (int i = 0; i < 3; ++i) {
    s[0] = values[i][0];  // safe: the previous replay was waited for
    s[1] = values[i][1];
    graph.launch();
    ct::check_close("graph replay " + std::to_string(i), ct::download(C), eager[static_cast<std::size_t>(i)], ct::tol<T>());
  }
  CHECK(c.pool().stats().raw_allocs == raw);
  graph.reset();
  CHECK_FALSE(graph.ready());
  CHECK_THROWS_WITH_AS(graph.launch(), doctest::Contains("before a capture"), jetpinn::Error);
}

TEST_CASE("step graph: pageable sources and synchronising inside a capture are refused") {
  Context& c = ct::ctx();
  DeviceTensor<float> d(c, 4, 1);
  std::vector<float> pageable(4, 1.0f);
  CHECK_THROWS_WITH_AS(upload_pinned_async(c, d.data(), pageable.data(), 4 * sizeof(float)),
                       doctest::Contains("not page-locked"), jetpinn::Error);
  StepGraph graph;
  graph.begin_capture(c);
  fill<float>(c, 4, 2.0f, d.data());
  CHECK_THROWS_AS(c.synchronize(), jetpinn::Error);  // invalidates the capture
  CHECK_THROWS_AS(graph.end_capture(), jetpinn::Error);
  CHECK_FALSE(graph.ready());
  // The stream is usable again.
  fill<float>(c, 4, 3.0f, d.data());
  const std::vector<float> h = d.to_host();
  CHECK(h[0] == 3.0f);
}
