// DeviceOps<T> (kernels/device_ops.h) against HostOps<T> (core/host_ops.h, the spec of core/backend_ops.h): every
// primitive runs on both from the same fresh random inputs (never zeros), outputs that accumulate start from
// random values too, and the device result is downloaded and compared normwise (cuda_test_helpers.h: float64
// 1e-12, float32 1e-5; both sides round to T the same way, so the budget is the two sides' operation orders),
// each jet stream, stack layer and parameter block against its own norm.
// Shapes are ragged (P = 1, 37, 1000, 4099; 1, 4 and 6 streams). Every device reduction also runs twice and must
// give identical bits. The capture test records fill + axpy + Adam (+ a dot) once and replays it with new Adam
// scalars uploaded between launches, against HostOps's capture emulation.
#include <cstring>
#include <limits>
#include <memory>

#include "batch_stats_rule.h"  // even_batches
#include "cuda_test_helpers.h"
#include "device_ops.h"
#include "host_ops.h"

using namespace jetpinn;
using namespace jetpinn::cuda;

namespace {
using Idx = std::ptrdiff_t;
const Idx POINTS[] = {1, 37, 1000, 4099};

// One DeviceOps per type on the test binary's shared Context (constructed after it, destroyed before it).
template <class T>
DeviceOps<T>& device_ops() {
  static DeviceOps<T> d(ct::ctx());
  return d;
}

template <class T>
struct Ops {
  HostOps<T> host;
  DeviceOps<T>& dev = device_ops<T>();
};

// n entries of E in both memories with the same contents.
template <class T, class E = T>
class Buf {
 public:
  Buf(Ops<T>& o, const std::vector<E>& init) : m_o(&o), m_n(init.size()) {
    m_h = static_cast<E*>(o.host.allocate(bytes()));
    m_d = static_cast<E*>(o.dev.allocate(bytes()));
    o.host.upload(m_h, init.data(), bytes());
    o.dev.upload(m_d, init.data(), bytes());
  }
  ~Buf() {
    m_o->host.release(m_h);
    m_o->dev.release(m_d);
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  E* h() { return m_h; }
  E* d() { return m_d; }
  std::size_t bytes() const { return sizeof(E) * m_n; }
  std::vector<E> dev_raw() {
    std::vector<E> v(m_n);
    m_o->dev.download(v.data(), m_d, bytes());
    return v;
  }
  std::vector<double> dev_values() {
    const std::vector<E> v = dev_raw();
    return std::vector<double>(v.begin(), v.end());
  }
  std::vector<double> host_values() const { return std::vector<double>(m_h, m_h + m_n); }

 private:
  Ops<T>* m_o;
  std::size_t m_n;
  E* m_h = nullptr;
  E* m_d = nullptr;
};

template <class E>
std::vector<E> rnd(std::size_t n, std::uint64_t seed, double lo = -1, double hi = 1) {
  return ct::random_data<E>(n, seed, lo, hi).t;
}

// blocks: the buffer's parts compared each with its own norm (a jet's streams, a stack's layers); empty: one.
template <class T, class E>
void expect(const std::string& what, Buf<T, E>& b, const ct::Blocks& blocks = {}) {
  ct::check_close(what, b.dev_values(), b.host_values(), ct::tol<T>(), blocks);
}
// A jet of S streams (stream-major): one block per stream.
template <class T, class E>
void expect_streams(const std::string& what, Buf<T, E>& b, int S) {
  expect(what, b, ct::equal_blocks(b.host_values().size(), static_cast<std::size_t>(S)));
}

// Bit-identical downloads of two device buffers (the reductions' determinism).
template <class T, class E>
void expect_same_bits(const std::string& what, Buf<T, E>& a, Buf<T, E>& b) {
  const std::vector<E> x = a.dev_raw(), y = b.dev_raw();
  CHECK_MESSAGE(std::memcmp(x.data(), y.data(), a.bytes()) == 0, what << ": two device runs differ in their bits");
}

std::string tag(const char* op, Idx n) { return std::string(op) + " n=" + std::to_string(n); }

std::vector<StreamSetPtr> stream_sets() {  // 1, 4 and 6 streams
  return {StreamSet::value_only(), StreamSet::make({"t", "x"}, {"t", "xx"}), StreamSet::make({"x", "y"}, {"xx", "xy", "yy"})};
}
}  // namespace

TEST_CASE_TEMPLATE("device ops: copies, elementwise ops, sums and column blocks match the host ops", T, float, double) {
  Ops<T> o;
  for (Idx n : POINTS) {
    const auto N = static_cast<std::size_t>(n);
    Buf<T> x(o, rnd<T>(N, 1)), a(o, rnd<T>(N, 2)), y(o, rnd<T>(N, 3)), s(o, rnd<T>(1, 4, 0.5, 2));
    o.host.fill(n, T(0.75), y.h());
    o.dev.fill(n, T(0.75), y.d());
    expect(tag("fill", n), y);
    o.host.axpy(n, T(-1.25), x.h(), y.h());
    o.dev.axpy(n, T(-1.25), x.d(), y.d());
    expect(tag("axpy", n), y);
    o.host.scale(n, T(0.375), x.h(), y.h());
    o.dev.scale(n, T(0.375), x.d(), y.d());
    expect(tag("scale", n), y);
    o.host.add(n, x.h(), a.h(), y.h());
    o.dev.add(n, x.d(), a.d(), y.d());
    expect(tag("add", n), y);
    o.host.sub(n, x.h(), a.h(), y.h());
    o.dev.sub(n, x.d(), a.d(), y.d());
    expect(tag("sub", n), y);
    o.host.add_constant(n, T(0.3), y.h());
    o.dev.add_constant(n, T(0.3), y.d());
    expect(tag("add_constant", n), y);
    o.host.add_broadcast(n, s.h(), -0.7, y.h());
    o.dev.add_broadcast(n, s.d(), -0.7, y.d());
    expect(tag("add_broadcast", n), y);
    o.host.copy(y.h(), x.h(), x.bytes());
    o.dev.copy(y.d(), x.d(), x.bytes());
    expect(tag("copy", n), y);

    Buf<T, double> acc(o, rnd<double>(N, 5));
    o.host.accumulate_double(n, a.h(), acc.h());
    o.dev.accumulate_double(n, a.d(), acc.d());
    expect(tag("accumulate_double", n), acc);

    for (double factor : {1.0, 1.0 / static_cast<double>(n), -3.5}) {
      Buf<T> out1(o, rnd<T>(1, 6)), out2(o, rnd<T>(1, 7));
      o.host.sum(n, x.h(), factor, out1.h());
      o.dev.sum(n, x.d(), factor, out1.d());
      o.dev.sum(n, x.d(), factor, out2.d());
      expect(tag("sum", n) + " factor " + std::to_string(factor), out1);
      expect_same_bits(tag("sum", n), out1, out2);
    }

    // Column blocks: columns 1..2 of a P x 5 source into columns 0..1 of a P x 3 destination.
    const Idx rows = n, src_ld = 5, dst_ld = 3, cols = 2;
    Buf<T> src(o, rnd<T>(N * 5, 8)), dst(o, rnd<T>(N * 3, 9));
    for (bool accumulate : {true, false}) {
      o.host.copy_cols(rows, cols, src.h() + 1, src_ld, dst.h(), dst_ld, accumulate);
      o.dev.copy_cols(rows, cols, src.d() + 1, src_ld, dst.d(), dst_ld, accumulate);
      expect(tag(accumulate ? "copy_cols +=" : "copy_cols =", n), dst);
    }
    Buf<T> b(o, rnd<T>(3, 10));
    o.host.add_row_vector(rows, 3, b.h(), dst.h());
    o.dev.add_row_vector(rows, 3, b.d(), dst.d());
    expect(tag("add_row_vector", n), dst);
  }
}

TEST_CASE_TEMPLATE("device ops: affine maps on all streams match the host ops", T, float, double) {
  Ops<T> o;
  struct Shape {
    int S;
    Idx in, out;
  };
  for (const Shape sh : {Shape{1, 3, 5}, Shape{4, 20, 7}, Shape{6, 64, 33}}) {
    for (Idx P : POINTS) {
      const Idx R = sh.S * P;
      const auto RN = static_cast<std::size_t>(R);
      Buf<T> x(o, rnd<T>(RN * sh.in, 1)), W(o, rnd<T>(static_cast<std::size_t>(sh.out * sh.in), 2));
      Buf<T> b(o, rnd<T>(static_cast<std::size_t>(sh.out), 3)), y(o, rnd<T>(RN * sh.out, 4));
      Buf<T> dy(o, rnd<T>(RN * sh.out, 5)), dW(o, rnd<T>(static_cast<std::size_t>(sh.out * sh.in), 6));
      Buf<T> db(o, rnd<T>(static_cast<std::size_t>(sh.out), 7)), dx(o, rnd<T>(RN * sh.in, 8));
      const std::string what = "affine S=" + std::to_string(sh.S) + " P=" + std::to_string(P) + " " +
                               std::to_string(sh.in) + "->" + std::to_string(sh.out);
      for (bool bias : {true, false}) {
        o.host.affine_forward(R, P, sh.in, sh.out, x.h(), W.h(), bias ? b.h() : nullptr, y.h());
        o.dev.affine_forward(R, P, sh.in, sh.out, x.d(), W.d(), bias ? b.d() : nullptr, y.d());
        expect_streams(what + (bias ? " y" : " y (no bias)"), y, sh.S);
      }
      o.host.affine_backward(R, P, sh.in, sh.out, x.h(), W.h(), dy.h(), dW.h(), db.h(), dx.h());
      o.dev.affine_backward(R, P, sh.in, sh.out, x.d(), W.d(), dy.d(), dW.d(), db.d(), dx.d());
      expect(what + " dW", dW);
      expect(what + " db", db);
      expect_streams(what + " dx", dx, sh.S);
      o.host.affine_backward(R, P, sh.in, sh.out, x.h(), W.h(), dy.h(), nullptr, nullptr, dx.h());  // dx only
      o.dev.affine_backward(R, P, sh.in, sh.out, x.d(), W.d(), dy.d(), nullptr, nullptr, dx.d());
      expect_streams(what + " dx (dW, db null)", dx, sh.S);
    }
  }
}

TEST_CASE_TEMPLATE("device ops: unary and product jets match the host ops", T, float, double) {
  Ops<T> o;
  struct Act {
    Activation a;
    int power;
    bool positive;
  };
  const Act acts[] = {{Activation::Tanh, 0, false}, {Activation::Sin, 0, false}, {Activation::Power, 3, false},
                      {Activation::Sigmoid, 0, false}, {Activation::Log, 0, true}};
  for (const StreamSetPtr& set : stream_sets()) {
    const int S = set->size();
    for (Idx n : POINTS) {
      const auto N = static_cast<std::size_t>(S * n);
      const std::string where = " [" + set->describe() + "] n=" + std::to_string(n);
      for (const Act& act : acts) {
        std::vector<T> xv = rnd<T>(N, 11);
        if (act.positive)
          for (Idx e = 0; e < n; ++e) xv[static_cast<std::size_t>(e)] = T(0.5) + std::abs(xv[static_cast<std::size_t>(e)]);
        Buf<T> x(o, xv), y(o, rnd<T>(N, 12)), dy(o, rnd<T>(N, 13)), dx(o, rnd<T>(N, 14));
        const std::string what = std::string(activation_name(act.a)) + where;
        o.host.unary_forward(*set, act.a, act.power, n, x.h(), y.h());
        o.dev.unary_forward(*set, act.a, act.power, n, x.d(), y.d());
        expect_streams(what + " forward", y, S);
        o.host.unary_backward(*set, act.a, act.power, n, x.h(), y.h(), dy.h(), dx.h());
        o.dev.unary_backward(*set, act.a, act.power, n, x.d(), y.d(), dy.d(), dx.d());
        expect_streams(what + " backward", dx, S);
        o.dev.unary_backward(*set, act.a, act.power, n, x.d(), y.d(), dy.d(), nullptr);  // null adjoint: nothing
      }
      Buf<T> u(o, rnd<T>(N, 21)), v(o, rnd<T>(N, 22)), y(o, rnd<T>(N, 23)), dy(o, rnd<T>(N, 24));
      Buf<T> du(o, rnd<T>(N, 25)), dv(o, rnd<T>(N, 26));
      o.host.product_forward(*set, n, u.h(), v.h(), y.h());
      o.dev.product_forward(*set, n, u.d(), v.d(), y.d());
      expect_streams("product" + where + " forward", y, S);
      o.host.product_backward(*set, n, u.h(), v.h(), dy.h(), du.h(), dv.h());
      o.dev.product_backward(*set, n, u.d(), v.d(), dy.d(), du.d(), dv.d());
      expect_streams("product" + where + " du", du, S);
      expect_streams("product" + where + " dv", dv, S);
      o.host.product_backward(*set, n, u.h(), v.h(), dy.h(), nullptr, dv.h());
      o.dev.product_backward(*set, n, u.d(), v.d(), dy.d(), nullptr, dv.d());
      expect_streams("product" + where + " dv (du null)", dv, S);
      o.host.product_backward(*set, n, u.h(), u.h(), dy.h(), du.h(), du.h());  // y = u * u: both into one adjoint
      o.dev.product_backward(*set, n, u.d(), u.d(), dy.d(), du.d(), du.d());
      expect_streams("product u*u" + where + " du", du, S);
    }
  }
}

TEST_CASE_TEMPLATE("device ops: the fused RBA update and loss match the host ops", T, float, double) {
  Ops<T> o;
  for (Idx P : POINTS) {
    for (Idx k : {Idx(1), Idx(3)}) {
      const auto N = static_cast<std::size_t>(P * k);
      Buf<T> r(o, rnd<T>(N, 31));
      for (bool minmax : {false, true})
        for (int init : {0, 1, 2})  // 0: a later update; 1: the first with init_from_residual; 2: first, no init
          for (bool update : {true, false})
            for (bool weighted : {true, false}) {
              RbaRule rule;
              rule.eta = 0.01;
              rule.gamma = 0.99;
              rule.minmax = minmax;
              rule.init_from_residual = init == 1;
              const bool first = init != 0;
              Buf<T> lambda(o, rnd<T>(N, 32, 0.5, 1.5)), out(o, rnd<T>(1, 33)), out2(o, rnd<T>(1, 34));
              Buf<T, double> stats(o, rnd<double>(2, 35)), stats2(o, rnd<double>(2, 36));
              const std::string what = "rba P=" + std::to_string(P) + " k=" + std::to_string(k) +
                                       (minmax ? " minmax" : " max") + " init=" + std::to_string(init) +
                                       (update ? " update" : "") + (weighted ? " weighted" : "");
              o.host.rba_mse_forward(P, k, r.h(), lambda.h(), rule, update, first, weighted, out.h(), stats.h());
              o.dev.rba_mse_forward(P, k, r.d(), lambda.d(), rule, update, first, weighted, out.d(), stats.d());
              expect(what + " lambda", lambda);
              expect(what + " loss", out);
              expect(what + " stats", stats, ct::Blocks{1, 1});  // loss and mse, each on its own
              // Twice more without the update (lambda fixed): same bits.
              o.dev.rba_mse_forward(P, k, r.d(), lambda.d(), rule, false, first, weighted, out.d(), stats.d());
              o.dev.rba_mse_forward(P, k, r.d(), lambda.d(), rule, false, first, weighted, out2.d(), stats2.d());
              expect_same_bits(what + " loss", out, out2);
              expect_same_bits(what + " stats", stats, stats2);
              if (minmax || init != 0 || !update) continue;  // backward once per weighting
              Buf<T> dloss(o, rnd<T>(1, 37, 0.5, 2)), dr(o, rnd<T>(N, 38));
              o.host.rba_mse_backward(P, k, r.h(), lambda.h(), weighted, dloss.h(), dr.h());
              o.dev.rba_mse_backward(P, k, r.d(), lambda.d(), weighted, dloss.d(), dr.d());
              expect(what + " backward", dr);
            }
    }
  }
}

TEST_CASE_TEMPLATE("device ops: Adam with scalars in device memory and non-finite guards", T, float, double) {
  Ops<T> o;
  for (Idx n : POINTS) {
    const auto N = static_cast<std::size_t>(n);
    Buf<T> p(o, rnd<T>(N, 41)), g(o, rnd<T>(N, 42)), m(o, rnd<T>(N, 43, -0.1, 0.1)), v(o, rnd<T>(N, 44, 0.01, 0.1));
    Buf<T, AdamStepScalars> s(o, {adam_step_scalars(0.9, 0.999, 1e-8, 1, 1e-3)});
    Buf<T, double> clean(o, {0.0, 0.0}), dirty(o, {0.0, 2.0});
    for (long t = 1; t <= 3; ++t) {
      const AdamStepScalars sc = adam_step_scalars(0.9, 0.999, 1e-8, t, 1e-3 / static_cast<double>(t));
      o.host.upload(s.h(), &sc, sizeof sc);
      o.dev.upload(s.d(), &sc, sizeof sc);
      const int guards = t == 1 ? 0 : 2;
      o.host.adam(n, s.h(), clean.h(), guards, p.h(), g.h(), m.h(), v.h());
      o.dev.adam(n, s.d(), clean.d(), guards, p.d(), g.d(), m.d(), v.d());
      const std::string what = tag("adam", n) + " t=" + std::to_string(t);
      expect(what + " p", p);
      expect(what + " m", m);
      expect(what + " v", v);
    }
    const std::vector<T> before = p.dev_raw();
    o.dev.adam(n, s.d(), dirty.d(), 2, p.d(), g.d(), m.d(), v.d());  // a non-zero guard: nothing moves
    const std::vector<T> after = p.dev_raw();
    CHECK_MESSAGE(std::memcmp(before.data(), after.data(), p.bytes()) == 0, tag("adam", n) << ": a guarded step moved p");
  }
}

TEST_CASE_TEMPLATE("device ops: dot, max_abs and count_nonfinite match the host ops and are deterministic", T, float,
                   double) {
  Ops<T> o;
  for (Idx n : {Idx(1), Idx(37), Idx(1000), Idx(4099), Idx(300001)}) {
    const auto N = static_cast<std::size_t>(n);
    std::vector<T> xv = rnd<T>(N, 51);
    if (n > 2) {  // a NaN (skipped by max_abs) and an infinity (counted by both)
      xv[N / 2] = std::numeric_limits<T>::quiet_NaN();
      xv[N - 1] = std::numeric_limits<T>::infinity();
    }
    Buf<T> x(o, xv), x_finite(o, rnd<T>(N, 52)), y(o, rnd<T>(N, 53));
    Buf<T, double> r1(o, {1.5}), r2(o, {2.5});
    o.host.dot(n, x_finite.h(), y.h(), r1.h());
    o.dev.dot(n, x_finite.d(), y.d(), r1.d());
    o.dev.dot(n, x_finite.d(), y.d(), r2.d());
    expect(tag("dot", n), r1);
    expect_same_bits(tag("dot", n), r1, r2);
    for (Buf<T>* in : {&x, &x_finite}) {
      o.host.max_abs(n, in->h(), r1.h());
      o.dev.max_abs(n, in->d(), r1.d());
      o.dev.max_abs(n, in->d(), r2.d());
      CHECK_MESSAGE(r1.dev_values() == r1.host_values(), tag("max_abs", n) << ": " << r1.dev_values()[0] << " vs "
                                                                           << r1.host_values()[0]);
      expect_same_bits(tag("max_abs", n), r1, r2);
      o.host.count_nonfinite(n, in->h(), r1.h());
      o.dev.count_nonfinite(n, in->d(), r1.d());
      CHECK_MESSAGE(r1.dev_values() == r1.host_values(), tag("count_nonfinite", n) << ": " << r1.dev_values()[0]
                                                                                   << " vs " << r1.host_values()[0]);
    }
  }
}

TEST_CASE_TEMPLATE("device ops: batch-gradient stats and per-sample norms match the host ops (accumulating s1, s2)", T,
                   float, double) {
  Ops<T> o;
  struct Shape {
    int S;
    Idx in, out;
  };
  for (const Shape sh : {Shape{1, 5, 3}, Shape{4, 20, 7}, Shape{6, 33, 16}}) {
    for (Idx P : {Idx(37), Idx(1000), Idx(4099)}) {
      std::vector<std::vector<Idx>> splits = {{0, P}, even_batches(P, 7), {0, 1, P / 3, P - 1, P}};
      if (P % 8 == 0) splits.push_back(even_batches(P, 8));  // equal batches: the strided-batched GEMM path
      const auto R = static_cast<std::size_t>(sh.S * P);
      const auto E = static_cast<std::size_t>(sh.in * sh.out);
      Buf<T> dy(o, rnd<T>(R * sh.out, 61)), a(o, rnd<T>(R * sh.in, 62));
      for (const std::vector<Idx>& off : splits) {
        const std::string what = "stats S=" + std::to_string(sh.S) + " P=" + std::to_string(P) + " " +
                                 std::to_string(sh.in) + "->" + std::to_string(sh.out) + " B=" +
                                 std::to_string(off.size() - 1);
        Buf<T> G(o, rnd<T>(E, 63));
        Buf<T, double> s1(o, rnd<double>(E, 64)), s2(o, rnd<double>(E, 65, 0, 1));
        o.host.affine_batch_stats(sh.S, P, sh.in, sh.out, dy.h(), a.h(), off, G.h(), s1.h(), s2.h());
        o.dev.affine_batch_stats(sh.S, P, sh.in, sh.out, dy.d(), a.d(), off, G.d(), s1.d(), s2.d());
        expect(what + " G", G);
        expect(what + " s1", s1);
        expect(what + " s2", s2);
        Buf<T> Gb(o, rnd<T>(static_cast<std::size_t>(sh.out), 66));
        Buf<T, double> b1(o, rnd<double>(static_cast<std::size_t>(sh.out), 67));
        Buf<T, double> b2(o, rnd<double>(static_cast<std::size_t>(sh.out), 68, 0, 1));
        o.host.bias_batch_stats(P, sh.out, dy.h(), off, Gb.h(), b1.h(), b2.h());
        o.dev.bias_batch_stats(P, sh.out, dy.d(), off, Gb.d(), b1.d(), b2.d());
        expect(what + " bias G", Gb);
        expect(what + " bias s1", b1);
        expect(what + " bias s2", b2);
      }
      const std::string what = "per-sample S=" + std::to_string(sh.S) + " P=" + std::to_string(P);
      for (bool bias : {false, true}) {
        Buf<T, double> acc(o, {0.25}), acc2(o, {0.25});
        const T* ah = bias ? nullptr : a.h();
        const T* ad = bias ? nullptr : a.d();
        o.host.per_sample_sq_norms(sh.S, P, sh.in, sh.out, dy.h(), ah, acc.h());
        o.dev.per_sample_sq_norms(sh.S, P, sh.in, sh.out, dy.d(), ad, acc.d());
        o.dev.per_sample_sq_norms(sh.S, P, sh.in, sh.out, dy.d(), ad, acc2.d());
        expect(what + (bias ? " bias" : " weights"), acc);
        expect_same_bits(what, acc, acc2);
        o.host.per_sample_sq_norms(sh.S, P, sh.in, sh.out, dy.h(), ah, acc.h());  // accumulates
        o.dev.per_sample_sq_norms(sh.S, P, sh.in, sh.out, dy.d(), ad, acc.d());
        expect(what + (bias ? " bias" : " weights") + " (twice)", acc);
      }
    }
  }
}

TEST_CASE_TEMPLATE("device ops: L-BFGS vector ops match HostVectorOps", T, float, double) {
  Ops<T> o;
  std::shared_ptr<VectorOps<T>> dv = o.dev.vector_ops();
  HostVectorOps<T> hv;
  for (Idx n : POINTS) {
    const auto N = static_cast<std::size_t>(n);
    const std::vector<T> xv = rnd<T>(N, 71), yv = rnd<T>(N, 72);
    VectorBuffer<T> x(*dv, n), y(*dv, n), z(*dv, n);
    std::vector<T> zeros(N, T(1)), hz(N);
    dv->download(n, z.data(), zeros.data());
    CHECK_MESSAGE(std::all_of(zeros.begin(), zeros.end(), [](T e) { return e == T(0); }), tag("vector allocate", n));
    dv->upload(n, xv.data(), x.data());
    dv->upload(n, yv.data(), y.data());
    std::vector<T> hx = xv, hy = yv;
    auto check_vec = [&](const std::string& what, VectorBuffer<T>& d, const std::vector<T>& h) {
      std::vector<T> got(N);
      dv->download(n, d.data(), got.data());
      ct::check_close(what, std::vector<double>(got.begin(), got.end()), std::vector<double>(h.begin(), h.end()),
                      ct::tol<T>());
    };
    dv->copy(n, x.data(), z.data());
    hz = hx;
    check_vec(tag("vector copy", n), z, hz);
    dv->scale(n, -0.3, z.data(), z.data());
    hv.scale(n, -0.3, hz.data(), hz.data());
    check_vec(tag("vector scale (in place)", n), z, hz);
    dv->axpy(n, 1.7, y.data(), z.data());
    hv.axpy(n, 1.7, hy.data(), hz.data());
    check_vec(tag("vector axpy", n), z, hz);
    dv->sub(n, x.data(), y.data(), z.data());
    hv.sub(n, hx.data(), hy.data(), hz.data());
    check_vec(tag("vector sub", n), z, hz);
    auto check_scalar = [&](const std::string& what, double d, double h) {
      ct::check_close(what, {d}, {h}, ct::tol<T>());
    };
    check_scalar(tag("vector dot", n), dv->dot(n, x.data(), y.data()), hv.dot(n, hx.data(), hy.data()));
    check_scalar(tag("vector asum", n), dv->asum(n, x.data()), hv.asum(n, hx.data()));
    CHECK(dv->max_abs(n, x.data()) == hv.max_abs(n, hx.data()));
    CHECK(dv->max_abs_diff(n, x.data(), y.data()) == hv.max_abs_diff(n, hx.data(), hy.data()));
    CHECK(dv->all_finite(n, x.data()));
    hx[N - 1] = std::numeric_limits<T>::quiet_NaN();
    dv->upload(n, hx.data(), x.data());
    CHECK_FALSE(dv->all_finite(n, x.data()));
  }
}

TEST_CASE_TEMPLATE("device ops: a captured fill + axpy + Adam + dot replays with each launch's uploaded scalars", T,
                   float, double) {
  Ops<T> o;
  REQUIRE(o.dev.supports_capture());
  for (Idx n : {Idx(37), Idx(4099)}) {
    const auto N = static_cast<std::size_t>(n);
    Buf<T> x(o, rnd<T>(N, 81)), y(o, rnd<T>(N, 82)), p(o, rnd<T>(N, 83)), m(o, rnd<T>(N, 84, -0.1, 0.1));
    Buf<T> v(o, rnd<T>(N, 85, 0.01, 0.1));
    Buf<T, AdamStepScalars> s(o, {adam_step_scalars(0.9, 0.999, 1e-8, 1, 1e-3)});
    Buf<T, double> guard(o, {0.0}), d(o, {0.0});
    // The step: y = 0.5; y += 2 x; Adam with gradient y; d = p . x.
    auto step = [&](BackendOps<T>& ops, T* xp, T* yp, T* pp, T* mp, T* vp, AdamStepScalars* sp, double* gp, double* dp) {
      ops.fill(n, T(0.5), yp);
      ops.axpy(n, T(2), xp, yp);
      ops.adam(n, sp, gp, 1, pp, yp, mp, vp);
      ops.dot(n, pp, xp, dp);
    };
    step(o.dev, x.d(), y.d(), p.d(), m.d(), v.d(), s.d(), guard.d(), d.d());  // eager once: the scratch is sized
    step(o.host, x.h(), y.h(), p.h(), m.h(), v.h(), s.h(), guard.h(), d.h());
    o.dev.begin_capture();
    step(o.dev, x.d(), y.d(), p.d(), m.d(), v.d(), s.d(), guard.d(), d.d());
    o.dev.end_capture();
    o.host.begin_capture();
    step(o.host, x.h(), y.h(), p.h(), m.h(), v.h(), s.h(), guard.h(), d.h());
    o.host.end_capture();
    for (long t = 2; t <= 3; ++t) {
      const AdamStepScalars sc = adam_step_scalars(0.9, 0.999, 1e-8, t, 1e-3 * static_cast<double>(t));
      o.host.upload(s.h(), &sc, sizeof sc);
      o.dev.upload(s.d(), &sc, sizeof sc);
      o.host.launch();
      o.dev.launch();
      const std::string what = tag("captured step", n) + " t=" + std::to_string(t);
      expect(what + " y", y);
      expect(what + " p", p);
      expect(what + " m", m);
      expect(what + " v", v);
      expect(what + " dot", d);
    }
    o.dev.reset_capture();
    o.host.reset_capture();
  }
}

TEST_CASE_TEMPLATE("device ops: name, factory, and what a capture refuses", T, float, double) {
  std::unique_ptr<BackendOps<T>> ops = make_device_ops<T>(0, GemmMath::Pedantic);
  const std::string name = ops->name();
  MESSAGE("device ops: " << name);
  CHECK(name.rfind("cuda:0 ", 0) == 0);
  CHECK(name.find(", sm_") != std::string::npos);
  CHECK(ops->supports_capture());
  CHECK_THROWS(ops->launch());  // nothing captured
  void* buf = ops->allocate(64);
  double host[8] = {};
  ops->begin_capture();
  CHECK_THROWS(ops->allocate(8));
  CHECK_THROWS(ops->download(host, buf, sizeof host));
  CHECK_THROWS(ops->upload(buf, host, sizeof host));
  CHECK_THROWS(ops->synchronize());
  ops->reset_capture();  // abandons the open capture
  ops->fill(8, T(2), static_cast<T*>(buf));
  T back[8] = {};
  ops->download(back, buf, sizeof back);
  CHECK(back[7] == T(2));
  ops->release(buf);
}

TEST_CASE_TEMPLATE("device ops: the dense stack (fused jet-MLP kernels + cuBLAS dW) matches the host ops", T, float,
                   double) {
  Ops<T> o;
  for (const DenseStack d : {DenseStack{2, 16, 2, 1, Activation::Tanh, 0}, DenseStack{21, 128, 6, 2, Activation::Tanh, 0},
                             DenseStack{3, 64, 3, 1, Activation::Sin, 0}}) {
    for (const StreamSetPtr& sp : stream_sets()) {
      const StreamSet& s = *sp;  // fixes S and the jet rules; the stack's input width is independent of it
      REQUIRE(o.dev.dense_stack_supported(d, s));
      for (Idx P : {Idx{37}, Idx{1000}}) {
        const Idx R = s.size() * P, blk = static_cast<Idx>(d.depth) * R * d.width;
        Idx np = 0;
        ct::Blocks pblocks;  // one per layer: layer l's W and b (backend_ops.h's order), see ct::param_blocks
        for (int l = 0; l <= d.depth; ++l) {
          const Idx in = l == 0 ? d.inputs : d.width, out = l == d.depth ? d.outputs : d.width;
          np += in * out + out;
          pblocks.push_back(static_cast<std::size_t>(in * out + out));
        }
        const int S = s.size(), LS = d.depth * S;  // z, h, dz: depth layers x S streams
        const auto u = [](Idx n) { return static_cast<std::size_t>(n); };
        Buf<T> params(o, rnd<T>(u(np), 21, -0.3, 0.3)), x(o, rnd<T>(u(R * d.inputs), 22));
        Buf<T> y(o, rnd<T>(u(R * d.outputs), 23)), z(o, rnd<T>(u(blk), 24)), h(o, rnd<T>(u(blk), 25));
        Buf<T> dy(o, rnd<T>(u(R * d.outputs), 26)), dz(o, rnd<T>(u(blk), 27)), dp(o, rnd<T>(u(np), 28));
        Buf<T> dx(o, rnd<T>(u(R * d.inputs), 29));
        const std::string what = "dense stack " + std::to_string(d.inputs) + "-" + std::to_string(d.width) + "x" +
                                 std::to_string(d.depth) + "-" + std::to_string(d.outputs) + " S=" +
                                 std::to_string(s.size()) + " P=" + std::to_string(P);
        o.host.dense_stack_forward(d, s, P, params.h(), x.h(), y.h(), z.h(), h.h());
        o.dev.dense_stack_forward(d, s, P, params.d(), x.d(), y.d(), z.d(), h.d());
        expect_streams(what + " y", y, S);
        expect_streams(what + " z", z, LS);
        expect_streams(what + " h", h, LS);
        o.host.dense_stack_backward(d, s, P, params.h(), x.h(), dy.h(), z.h(), h.h(), dz.h(), dp.h(), dx.h());
        o.dev.dense_stack_backward(d, s, P, params.d(), x.d(), dy.d(), z.d(), h.d(), dz.d(), dp.d(), dx.d());
        expect_streams(what + " dz", dz, LS);
        expect(what + " dparams (accumulated)", dp, pblocks);
        expect_streams(what + " dx (accumulated)", dx, S);
      }
    }
  }
}

TEST_CASE_TEMPLATE("device ops: the dense stack's backward with batch statistics matches the host ops", T, float, double) {
  Ops<T> o;
  const DenseStack d{2, 32, 3, 1, Activation::Tanh, 0};
  const StreamSetPtr sp = StreamSet::make({"t", "x"}, {"t", "xx"});
  const StreamSet& s = *sp;
  for (const Idx P : {Idx{37}, Idx{1000}}) {
    for (const Idx B : {Idx{2}, Idx{7}, Idx{37}}) {
      REQUIRE(o.dev.dense_stack_stats_supported(d, s, static_cast<int>(B), true));
      std::vector<Idx> offsets;
      for (Idx k = 0; k <= B; ++k) offsets.push_back(k * P / B);
      const Idx R = s.size() * P, blk = static_cast<Idx>(d.depth) * R * d.width;
      const Idx np = (d.inputs * d.width + d.width) + (d.depth - 1) * (d.width * d.width + d.width) + (d.width + 1);
      ct::Blocks pblocks;  // one per layer: layer l's W and b (backend_ops.h's order), see ct::param_blocks
      for (int l = 0; l <= d.depth; ++l) {
        const Idx in = l == 0 ? d.inputs : d.width, out = l == d.depth ? d.outputs : d.width;
        pblocks.push_back(static_cast<std::size_t>(in * out + out));
      }
      const auto u = [](Idx n) { return static_cast<std::size_t>(n); };
      Buf<T> params(o, rnd<T>(u(np), 31, -0.3, 0.3)), x(o, rnd<T>(u(R * d.inputs), 32));
      Buf<T> y(o, rnd<T>(u(R), 33)), z(o, rnd<T>(u(blk), 34)), h(o, rnd<T>(u(blk), 35));
      Buf<T> dy(o, rnd<T>(u(R), 36)), dz(o, rnd<T>(u(blk), 37)), dp(o, rnd<T>(u(np), 38)), dx(o, rnd<T>(u(R * d.inputs), 39));
      Buf<T, double> s1(o, rnd<double>(u(np), 40)), s2(o, rnd<double>(u(np), 41, 0, 1)), r(o, rnd<double>(u(np), 42));
      const std::string what = "dense stack stats P=" + std::to_string(P) + " B=" + std::to_string(B);
      o.host.dense_stack_forward(d, s, P, params.h(), x.h(), y.h(), z.h(), h.h());
      o.dev.dense_stack_forward(d, s, P, params.d(), x.d(), y.d(), z.d(), h.d());
      o.host.dense_stack_backward_stats(d, s, P, params.h(), x.h(), dy.h(), z.h(), h.h(), dz.h(), offsets, dp.h(), s1.h(),
                                        s2.h(), r.h(), nullptr, dx.h());
      o.dev.dense_stack_backward_stats(d, s, P, params.d(), x.d(), dy.d(), z.d(), h.d(), dz.d(), offsets, dp.d(), s1.d(),
                                       s2.d(), r.d(), nullptr, dx.d());
      expect(what + " dparams", dp, pblocks);
      expect(what + " s1", s1, pblocks);
      expect(what + " s2", s2, pblocks);
      expect(what + " r", r, pblocks);
      expect_streams(what + " dx", dx, s.size());
      // The per-sample variant: the norms of every layer's weight and bias, accumulated.
      Buf<T, double> sq(o, rnd<double>(u(2 * (d.depth + 1)), 43, 0, 1));
      o.host.dense_stack_backward_stats(d, s, P, params.h(), x.h(), dy.h(), z.h(), h.h(), dz.h(), offsets, dp.h(), nullptr,
                                        nullptr, r.h(), sq.h(), dx.h());
      o.dev.dense_stack_backward_stats(d, s, P, params.d(), x.d(), dy.d(), z.d(), h.d(), dz.d(), offsets, dp.d(), nullptr,
                                       nullptr, r.d(), sq.d(), dx.d());
      expect(what + " per-sample norms", sq, ct::Blocks(sq.host_values().size(), 1));  // each entry on its own
      expect(what + " dparams (per-sample sweep)", dp, pblocks);
    }
  }
}
