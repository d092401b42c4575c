// GemmMath::TF32x3 on the device: float GEMMs (plain and strided-batched, transposed or not, ragged shapes) on
// fresh random data against a float64 host product of the same float inputs. Tolerance 1e-5 normwise relative:
// the emulation in tests/cuda/host/test_tf32_split.cpp reaches ~5e-7 at K = 128, FP32's own level; the margin
// covers K up to ~1000 and cuBLAS's own accumulation order. Plain TF32 is reported beside it (it sits near 1e-3)
// and only checked against 1e-2.
#include "blas.h"
#include "cuda_test_helpers.h"

using namespace jetpinn::cuda;

namespace {

struct MathGuard {  // restores the shared Context's GEMM math when a check fails mid-case
  GemmMath saved = ct::ctx().math();
  ~MathGuard() { ct::ctx().set_math(saved); }
};

// Column-major C (m x n) = alpha op(A) op(B) + beta C0 in double, batch by batch (strides in entries).
std::vector<double> reference(bool ta, bool tb, int m, int n, int k, double alpha, const std::vector<double>& A, int lda,
                              int sa, const std::vector<double>& B, int ldb, int sb, double beta,
                              const std::vector<double>& C0, int ldc, int sc, int batch) {
  std::vector<double> C = C0;
  for (int q = 0; q < batch; ++q)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double acc = 0;
        for (int p = 0; p < k; ++p) {
          const double a = ta ? A[static_cast<std::size_t>(q * sa + i * lda + p)] : A[static_cast<std::size_t>(q * sa + p * lda + i)];
          const double b = tb ? B[static_cast<std::size_t>(q * sb + p * ldb + j)] : B[static_cast<std::size_t>(q * sb + j * ldb + p)];
          acc += a * b;
        }
        double& c = C[static_cast<std::size_t>(q * sc + j * ldc + i)];
        c = alpha * acc + beta * c;
      }
  return C;
}

}  // namespace

TEST_CASE("gemm TF32x3: float GEMMs match a float64 product to 1e-5 (plain TF32 reported beside)") {
  struct Case {
    bool ta, tb;
    int m, n, k, batch;
    float alpha, beta;
  };
  MathGuard guard;
  Context& c = ct::ctx();
  int seed = 100;
  for (const Case& cs : {Case{false, false, 64, 256, 128, 1, 1.0f, 0.0f}, Case{false, true, 128, 1000, 128, 1, 1.0f, 0.0f},
                         Case{true, false, 37, 5, 300, 1, 0.5f, 1.0f}, Case{true, true, 129, 33, 1000, 1, 1.0f, 0.0f},
                         Case{false, true, 5, 3, 40, 10, 1.0f, 0.0f}, Case{true, false, 128, 128, 256, 3, 2.0f, 0.5f}}) {
    // Leading dimensions one larger than needed, so the split must follow the layout (padding entries unused).
    const int ar = cs.ta ? cs.k : cs.m, ac = cs.ta ? cs.m : cs.k, br = cs.tb ? cs.n : cs.k, bc = cs.tb ? cs.k : cs.n;
    const int lda = ar + 1, ldb = br + 1, ldc = cs.m + 1;
    const int sa = lda * ac, sb = ldb * bc, sc = ldc * cs.n;
    const auto A = ct::random_data<float>(static_cast<std::size_t>(sa * cs.batch), static_cast<std::uint64_t>(seed++));
    const auto B = ct::random_data<float>(static_cast<std::size_t>(sb * cs.batch), static_cast<std::uint64_t>(seed++));
    const auto C0 = ct::random_data<float>(static_cast<std::size_t>(sc * cs.batch), static_cast<std::uint64_t>(seed++));
    const std::vector<double> want = reference(cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, A.d, lda, sa, B.d, ldb, sb,
                                               cs.beta, C0.d, ldc, sc, cs.batch);
    auto Ad = ct::upload(A.t, sa * cs.batch, 1), Bd = ct::upload(B.t, sb * cs.batch, 1);
    const std::string what = std::string("gemm") + (cs.batch > 1 ? " batched x" + std::to_string(cs.batch) : "") + " " +
                             (cs.ta ? "T" : "N") + (cs.tb ? "T" : "N") + " m=" + std::to_string(cs.m) +
                             " n=" + std::to_string(cs.n) + " k=" + std::to_string(cs.k);
    auto run = [&](GemmMath math) {
      c.set_math(math);
      auto Cd = ct::upload(C0.t, sc * cs.batch, 1);
      if (cs.batch == 1)
        gemm<float>(c, cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, Ad.data(), lda, Bd.data(), ldb, cs.beta, Cd.data(), ldc);
      else
        gemm_strided_batched<float>(c, cs.ta, cs.tb, cs.m, cs.n, cs.k, cs.alpha, Ad.data(), lda, sa, Bd.data(), ldb, sb,
                                    cs.beta, Cd.data(), ldc, sc, cs.batch);
      return ct::download(Cd);
    };
    ct::check_close(what + " TF32x3", run(GemmMath::TF32x3), want, 1e-5,
                    ct::equal_blocks(want.size(), static_cast<std::size_t>(cs.batch)));  // each batch's C on its own
    const double e_tf32 = ct::rel_err(run(GemmMath::TF32), want);
    const double e_fp32 = ct::rel_err(run(GemmMath::Pedantic), want);
    MESSAGE(what << ": plain TF32 relative error " << e_tf32 << ", pedantic FP32 " << e_fp32 << " (for comparison)");
    CHECK(e_tf32 <= 1e-2);
  }
  // The split buffers come from gemm_scratch: a repeated GEMM allocates nothing new.
  c.set_math(GemmMath::TF32x3);
  DeviceTensor<float> A(c, 256, 256), B(c, 256, 256), C(c, 256, 256);
  A.set_zero();
  B.set_zero();
  gemm<float>(c, false, false, 256, 256, 256, 1.0f, A.data(), 256, B.data(), 256, 0.0f, C.data(), 256);
  c.synchronize();
  const std::size_t raw = c.pool().stats().raw_allocs;
  for (int i = 0; i < 3; ++i)
    gemm<float>(c, false, false, 256, 256, 256, 1.0f, A.data(), 256, B.data(), 256, 0.0f, C.data(), 256);
  c.synchronize();
  CHECK(c.pool().stats().raw_allocs == raw);
}

TEST_CASE("gemm TF32x3: double GEMMs are unaffected (DGEMM, 1e-12)") {
  MathGuard guard;
  Context& c = ct::ctx();
  c.set_math(GemmMath::TF32x3);
  const int m = 70, n = 50, k = 200;
  const auto A = ct::random_data<double>(static_cast<std::size_t>(m * k), 7), B = ct::random_data<double>(static_cast<std::size_t>(k * n), 8);
  auto Ad = ct::upload(A.t, m * k, 1), Bd = ct::upload(B.t, k * n, 1);
  DeviceTensor<double> Cd(c, m * n, 1);
  gemm<double>(c, false, false, m, n, k, 1.0, Ad.data(), m, Bd.data(), k, 0.0, Cd.data(), m);
  const std::vector<double> zero(static_cast<std::size_t>(m * n), 0.0);
  ct::check_close("dgemm under TF32x3", ct::download(Cd), reference(false, false, m, n, k, 1.0, A.d, m, 0, B.d, k, 0, 0.0, zero, m, 0, 1),
                  1e-12);
}
