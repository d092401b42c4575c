// The emulated device's cuBLAS (kernels/emu/cublas_v2.h) against cuBLAS's documented definition, with expected
// values worked by hand: column-major C = alpha op(A) op(B) + beta C, the argument statuses, pointer modes under
// stream capture, strided batches, TF32 rounding (ties to even) and 3xTF32, and the findings for defects
// (a handle used after cublasDestroy, operands outside device memory). Independent of kernels/blas.cu.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "cublas_v2.h"
#include "emu.h"

namespace {

namespace emu = jetpinn::emu;

const float nan_f = std::numeric_limits<float>::quiet_NaN();
const double nan_d = std::numeric_limits<double>::quiet_NaN();

// A device allocation of exactly values.size() elements, filled with them; freed at scope end.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& values) : m_count(values.size()) {
    void* p = nullptr;
    REQUIRE(cudaMalloc(&p, bytes()) == cudaSuccess);
    m_data = static_cast<T*>(p);
    upload(values);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(m_data); }

  T* get() const { return m_data; }
  void upload(const std::vector<T>& values) {
    REQUIRE(values.size() == m_count);
    REQUIRE(cudaMemcpy(m_data, values.data(), bytes(), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  std::vector<T> download() const {
    std::vector<T> values(m_count);
    REQUIRE(cudaMemcpy(values.data(), m_data, bytes(), cudaMemcpyDeviceToHost) == cudaSuccess);
    return values;
  }

 private:
  std::size_t bytes() const { return m_count * sizeof(T); }
  std::size_t m_count;
  T* m_data = nullptr;
};

struct BlasHandle {
  cublasHandle_t handle = nullptr;
  BlasHandle() { REQUIRE(cublasCreate(&handle) == CUBLAS_STATUS_SUCCESS); }
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;
  ~BlasHandle() { cublasDestroy(handle); }
};

// Exactly one finding since the last take, containing each of `parts`; taken, so it fails nothing later.
void check_one_finding(std::initializer_list<const char*> parts) {
  const std::vector<std::string> findings = emu::take_findings();
  REQUIRE(findings.size() == 1);
  for (const char* part : parts) CHECK_MESSAGE(findings[0].find(part) != std::string::npos, findings[0]);
}

void check_no_finding() { CHECK(emu::take_findings().empty()); }

// Element-wise equality in which NaN equals NaN (padding that must stay untouched).
template <class T>
void check_same(const std::vector<T>& got, const std::vector<T>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", want " << want[i]);
    CHECK(((std::isnan(got[i]) && std::isnan(want[i])) || got[i] == want[i]));
  }
}

// The 2x3 times 3x2 example: op(A) = [1 2 3; 4 5 6], op(B) = [7 8; 9 10; 11 12], so
// op(A) op(B) = [1*7+2*9+3*11  1*8+2*10+3*12; 4*7+5*9+6*11  4*8+5*10+6*12] = [58 64; 139 154].
// Stored column-major, with a padding row of NaN that no GEMM may read:
std::vector<float> a_stored(cublasOperation_t op) {
  if (op == CUBLAS_OP_N) return {1, 4, nan_f, 2, 5, nan_f, 3, 6, nan_f};  // A, lda 3
  return {1, 2, 3, nan_f, 4, 5, 6, nan_f};                             // A^T (3 x 2), lda 4
}
int a_ld(cublasOperation_t op) { return op == CUBLAS_OP_N ? 3 : 4; }
std::vector<float> b_stored(cublasOperation_t op) {
  if (op == CUBLAS_OP_N) return {7, 9, 11, nan_f, 8, 10, 12, nan_f};  // B, ldb 4
  return {7, 8, nan_f, 9, 10, nan_f, 11, 12, nan_f};                  // B^T (2 x 3), ldb 3
}
int b_ld(cublasOperation_t op) { return op == CUBLAS_OP_N ? 4 : 3; }

float pow2f(int e) { return std::ldexp(1.0f, e); }

}  // namespace

TEST_CASE("emu cublas: enum values are the real headers' numbers") {
  CHECK(CUDA_R_32F == 0);
  CHECK(CUDA_R_64F == 1);
  CHECK(CUDA_R_16F == 2);
  CHECK(CUDA_R_8I == 3);
  CHECK(CUDA_C_32F == 4);
  CHECK(CUDA_R_16BF == 14);
  CHECK(CUDA_R_8F_E4M3 == 28);
  CHECK(CUBLAS_COMPUTE_16F == 64);
  CHECK(CUBLAS_COMPUTE_32F == 68);
  CHECK(CUBLAS_COMPUTE_32F_PEDANTIC == 69);
  CHECK(CUBLAS_COMPUTE_64F == 70);
  CHECK(CUBLAS_COMPUTE_64F_PEDANTIC == 71);
  CHECK(CUBLAS_COMPUTE_32I == 72);
  CHECK(CUBLAS_COMPUTE_32F_FAST_16F == 74);
  CHECK(CUBLAS_COMPUTE_32F_FAST_16BF == 75);
  CHECK(CUBLAS_COMPUTE_32F_FAST_TF32 == 77);
  CHECK(CUBLAS_GEMM_DEFAULT == -1);
  CHECK(CUBLAS_GEMM_DEFAULT_TENSOR_OP == 99);
  CHECK(CUBLAS_STATUS_SUCCESS == 0);
  CHECK(CUBLAS_STATUS_NOT_INITIALIZED == 1);
  CHECK(CUBLAS_STATUS_ALLOC_FAILED == 3);
  CHECK(CUBLAS_STATUS_INVALID_VALUE == 7);
  CHECK(CUBLAS_STATUS_ARCH_MISMATCH == 8);
  CHECK(CUBLAS_STATUS_EXECUTION_FAILED == 13);
  CHECK(CUBLAS_STATUS_NOT_SUPPORTED == 15);
  CHECK(CUBLAS_DEFAULT_MATH == 0);
  CHECK(CUBLAS_TENSOR_OP_MATH == 1);
  CHECK(CUBLAS_PEDANTIC_MATH == 2);
  CHECK(CUBLAS_TF32_TENSOR_OP_MATH == 3);
  CHECK(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION == 16);
  CHECK(CUBLAS_POINTER_MODE_HOST == 0);
  CHECK(CUBLAS_POINTER_MODE_DEVICE == 1);
  CHECK(CUBLAS_OP_N == 0);
  CHECK(CUBLAS_OP_T == 1);
  CHECK(CUBLAS_OP_C == 2);
}

TEST_CASE("emu cublas: status names are the enumerators' names, and each status has its own description") {
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_SUCCESS)) == "CUBLAS_STATUS_SUCCESS");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_NOT_INITIALIZED)) == "CUBLAS_STATUS_NOT_INITIALIZED");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_ALLOC_FAILED)) == "CUBLAS_STATUS_ALLOC_FAILED");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE)) == "CUBLAS_STATUS_INVALID_VALUE");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_ARCH_MISMATCH)) == "CUBLAS_STATUS_ARCH_MISMATCH");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_MAPPING_ERROR)) == "CUBLAS_STATUS_MAPPING_ERROR");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_EXECUTION_FAILED)) == "CUBLAS_STATUS_EXECUTION_FAILED");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_INTERNAL_ERROR)) == "CUBLAS_STATUS_INTERNAL_ERROR");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED)) == "CUBLAS_STATUS_NOT_SUPPORTED");
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_LICENSE_ERROR)) == "CUBLAS_STATUS_LICENSE_ERROR");
  const std::string invalid = cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE);
  CHECK(!invalid.empty());
  CHECK(invalid != cublasGetStatusString(CUBLAS_STATUS_SUCCESS));
  CHECK(invalid != cublasGetStatusString(CUBLAS_STATUS_NOT_SUPPORTED));
}

TEST_CASE("emu cublas: a new handle's settings, and setting and getting them") {
  CHECK(cublasCreate(nullptr) == CUBLAS_STATUS_INVALID_VALUE);
  BlasHandle h;
  cudaStream_t stream = reinterpret_cast<cudaStream_t>(1);
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_DEVICE;
  cublasMath_t math_mode = CUBLAS_TF32_TENSOR_OP_MATH;
  REQUIRE(cublasGetStream(h.handle, &stream) == CUBLAS_STATUS_SUCCESS);
  CHECK(stream == nullptr);  // the legacy default stream
  REQUIRE(cublasGetPointerMode(h.handle, &pointer_mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(pointer_mode == CUBLAS_POINTER_MODE_HOST);
  REQUIRE(cublasGetMathMode(h.handle, &math_mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(math_mode == CUBLAS_DEFAULT_MATH);

  cudaStream_t own = nullptr;
  REQUIRE(cudaStreamCreate(&own) == cudaSuccess);
  CHECK(cublasSetStream(h.handle, own) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasGetStream(h.handle, &stream) == CUBLAS_STATUS_SUCCESS);
  CHECK(stream == own);
  CHECK(cublasSetStream(h.handle, nullptr) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cudaStreamDestroy(own) == cudaSuccess);

  CHECK(cublasSetPointerMode(h.handle, CUBLAS_POINTER_MODE_DEVICE) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasGetPointerMode(h.handle, &pointer_mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(pointer_mode == CUBLAS_POINTER_MODE_DEVICE);

  // Math modes: one mode, optionally or-ed with the flag; the deprecated CUBLAS_TENSOR_OP_MATH only alone.
  for (int mode : {0, 1, 2, 3, 0 | 16, 2 | 16, 3 | 16}) {
    CAPTURE(mode);
    CHECK(cublasSetMathMode(h.handle, static_cast<cublasMath_t>(mode)) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasGetMathMode(h.handle, &math_mode) == CUBLAS_STATUS_SUCCESS);
    CHECK(static_cast<int>(math_mode) == mode);
  }
  for (int mode : {5, 6, 7, 1 | 16}) {
    CAPTURE(mode);
    CHECK(cublasSetMathMode(h.handle, static_cast<cublasMath_t>(mode)) == CUBLAS_STATUS_INVALID_VALUE);
    CHECK(cublasGetMathMode(h.handle, &math_mode) == CUBLAS_STATUS_SUCCESS);
    CHECK(static_cast<int>(math_mode) == (3 | 16));  // unchanged
  }
  CHECK(cublasGetStream(h.handle, nullptr) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasGetPointerMode(h.handle, nullptr) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasGetMathMode(h.handle, nullptr) == CUBLAS_STATUS_INVALID_VALUE);
  check_no_finding();
}

TEST_CASE("emu cublas: a handle used after cublasDestroy gives NOT_INITIALIZED and a finding naming the call") {
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
  check_no_finding();

  CHECK(cublasSetStream(h, nullptr) == CUBLAS_STATUS_NOT_INITIALIZED);
  check_one_finding({"cublasSetStream", "after cublasDestroy"});
  cublasMath_t mode;
  CHECK(cublasGetMathMode(h, &mode) == CUBLAS_STATUS_NOT_INITIALIZED);
  check_one_finding({"cublasGetMathMode", "after cublasDestroy"});

  DeviceBuffer<float> a({1}), b({1}), c({5});
  const float one = 1, zero = 0;
  CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a.get(), 1, b.get(), 1, &zero, c.get(), 1) ==
        CUBLAS_STATUS_NOT_INITIALIZED);
  check_one_finding({"cublasSgemm", "after cublasDestroy"});
  CHECK(c.download() == std::vector<float>{5});  // nothing ran

  CHECK(cublasDestroy(h) == CUBLAS_STATUS_NOT_INITIALIZED);
  check_one_finding({"cublasDestroy", "after cublasDestroy"});
  CHECK(cublasSetMathMode(nullptr, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_NOT_INITIALIZED);
  check_one_finding({"cublasSetMathMode", "is null"});
  CHECK(cublasSetPointerMode(reinterpret_cast<cublasHandle_t>(&mode), CUBLAS_POINTER_MODE_HOST) ==
        CUBLAS_STATUS_NOT_INITIALIZED);
  check_one_finding({"cublasSetPointerMode", "never returned by cublasCreate"});

  cublasHandle_t next = nullptr;
  REQUIRE(cublasCreate(&next) == CUBLAS_STATUS_SUCCESS);
  CHECK(next != h);  // a destroyed handle's address is not handed out again, so it stays recognisable
  CHECK(cublasDestroy(next) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("emu cublas: cublasSetWorkspace takes what cuBLAS takes, a workspace outside device memory is a finding") {
  BlasHandle h;
  DeviceBuffer<float> workspace(std::vector<float>(1024, 0.0f));
  CHECK(cublasSetWorkspace(h.handle, workspace.get(), 4096) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasSetWorkspace(h.handle, nullptr, 0) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasSetWorkspace(h.handle, workspace.get(), 0) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasSetWorkspace(h.handle, workspace.get(), 100) == CUBLAS_STATUS_SUCCESS);  // small is allowed
  // The documented alignment: 256 bytes.
  CHECK(cublasSetWorkspace(h.handle, workspace.get() + 1, 256) == CUBLAS_STATUS_INVALID_VALUE);
  check_no_finding();

  alignas(256) static unsigned char host_bytes[512];
  CHECK(cublasSetWorkspace(h.handle, host_bytes, sizeof host_bytes) == CUBLAS_STATUS_SUCCESS);
  check_one_finding({"cublasSetWorkspace", "not inside one device allocation"});
  CHECK(cublasSetWorkspace(h.handle, workspace.get(), 8192) == CUBLAS_STATUS_SUCCESS);  // past its 4096 bytes
  check_one_finding({"cublasSetWorkspace", "not inside one device allocation"});

  // A workspace freed while the handle still holds it: found when a GEMM runs. cublasSetStream returns the
  // handle to the default pool (documented), after which the same GEMM is fine.
  DeviceBuffer<float> a({2}), b({3}), c({0});
  const float one = 1, zero = 0;
  {
    DeviceBuffer<float> short_lived(std::vector<float>(256, 0.0f));
    REQUIRE(cublasSetWorkspace(h.handle, short_lived.get(), 1024) == CUBLAS_STATUS_SUCCESS);
  }
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a.get(), 1, b.get(), 1, &zero, c.get(), 1) ==
        CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasSgemm", "workspace", "no longer device memory"});
  REQUIRE(cublasSetStream(h.handle, nullptr) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a.get(), 1, b.get(), 1, &zero, c.get(), 1) ==
        CUBLAS_STATUS_SUCCESS);
  CHECK(c.download() == std::vector<float>{6});
  check_no_finding();
}

TEST_CASE("emu cublas: Sgemm by the definition, padding past the rows is never read, and beta 0 never reads C") {
  BlasHandle h;
  DeviceBuffer<float> a(a_stored(CUBLAS_OP_N)), b(b_stored(CUBLAS_OP_N));
  DeviceBuffer<float> c(std::vector<float>(6, nan_f));  // ldc 3: the third row is padding
  const float alpha = 1, beta = 0;
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &alpha, a.get(), 3, b.get(), 4, &beta, c.get(), 3) ==
          CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {58, 139, nan_f, 64, 154, nan_f});
  check_no_finding();
}

TEST_CASE("emu cublas: Sgemm with A and B each as stored or transposed (CUBLAS_OP_T, and CUBLAS_OP_C for reals)") {
  BlasHandle h;
  // alpha 2, beta -1 on C = [1 2; 3 4]: 2*[58 64; 139 154] - C = [115 126; 275 304].
  const float alpha = 2, beta = -1;
  for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C})
    for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T, CUBLAS_OP_C}) {
      CAPTURE(ta);
      CAPTURE(tb);
      DeviceBuffer<float> a(a_stored(ta)), b(b_stored(tb)), c({1, 3, 2, 4});
      REQUIRE(cublasSgemm(h.handle, ta, tb, 2, 2, 3, &alpha, a.get(), a_ld(ta), b.get(), b_ld(tb), &beta, c.get(),
                          2) == CUBLAS_STATUS_SUCCESS);
      check_same(c.download(), {115, 275, 126, 304});
    }
  check_no_finding();
}

TEST_CASE("emu cublas: Dgemm and a double GemmEx compute in double") {
  BlasHandle h;
  // [1 + 2^-40, 2^-40] [1; 1] = 1 + 2^-39: float would round it to 1.
  const double tiny = std::ldexp(1.0, -40);
  DeviceBuffer<double> a({1 + tiny, tiny}), b({1, 1}), c({nan_d});
  const double one = 1, zero = 0;
  REQUIRE(cublasDgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, a.get(), 1, b.get(), 2, &zero, c.get(), 1) ==
          CUBLAS_STATUS_SUCCESS);
  CHECK(c.download()[0] == 1 + 2 * tiny);
  // Same through cublasGemmEx with CUBLAS_COMPUTE_64F (double scalars); A transposed: stored 2 x 1.
  c.upload({nan_d});
  REQUIRE(cublasGemmEx(h.handle, CUBLAS_OP_T, CUBLAS_OP_N, 1, 1, 2, &one, a.get(), CUDA_R_64F, 2, b.get(), CUDA_R_64F,
                       2, &zero, c.get(), CUDA_R_64F, 1, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT) ==
          CUBLAS_STATUS_SUCCESS);
  CHECK(c.download()[0] == 1 + 2 * tiny);
  check_no_finding();
}

TEST_CASE("emu cublas: k == 0 or alpha == 0 give C = beta C without reading A or B, m == 0 does nothing") {
  BlasHandle h;
  DeviceBuffer<float> c({1, 2, 3, 4});
  const float zero = 0, one = 1, three = 3, half = 0.5f;
  // k = 0: no A or B at all (lda >= max(1, m), ldb >= max(1, k) still hold).
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 0, &one, nullptr, 2, nullptr, 1, &three, c.get(), 2) ==
          CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {3, 6, 9, 12});
  // k = 0 and beta = 0: C = 0 even where C held NaN.
  c.upload({nan_f, nan_f, nan_f, nan_f});
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 0, &one, nullptr, 2, nullptr, 1, &zero, c.get(), 2) ==
          CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {0, 0, 0, 0});
  // alpha = 0: A and B full of NaN are not read (0 * NaN would be NaN), C = 0.5 C.
  DeviceBuffer<float> a_nan(std::vector<float>(4, nan_f)), b_nan(std::vector<float>(4, nan_f));
  c.upload({2, 4, 6, 8});
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &zero, a_nan.get(), 2, b_nan.get(), 2, &half,
                      c.get(), 2) == CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {1, 2, 3, 4});
  // alpha = 0 and beta = 1: C stays as it is, NaN included.
  c.upload({nan_f, 1, 2, 3});
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &zero, a_nan.get(), 2, b_nan.get(), 2, &one,
                      c.get(), 2) == CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {nan_f, 1, 2, 3});
  // m = 0: nothing to compute (ldc must still be >= 1).
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 0, 2, 2, &one, a_nan.get(), 1, b_nan.get(), 2, &one,
                      c.get(), 1) == CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {nan_f, 1, 2, 3});
  check_no_finding();
}

TEST_CASE("emu cublas: invalid arguments give the documented statuses and run nothing") {
  BlasHandle h;
  DeviceBuffer<float> a({1, 2, 3, 4}), b({1, 2, 3, 4}), c({7, 7, 7, 7});
  DeviceBuffer<double> c64({7, 7, 7, 7});
  const float one = 1;
  const auto N = CUBLAS_OP_N, T = CUBLAS_OP_T;
  auto sgemm = [&](cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float* alpha, int lda,
                   int ldb, const float* beta, float* C, int ldc) {
    return cublasSgemm(h.handle, ta, tb, m, n, k, alpha, a.get(), lda, b.get(), ldb, beta, C, ldc);
  };
  // CUBLAS_STATUS_INVALID_VALUE: negative sizes, an operation other than N, T, C, a leading dimension below the
  // rows of its matrix as stored (and below 1), a null alpha or beta, a null C that beta would scale.
  CHECK(sgemm(N, N, -1, 2, 2, &one, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(N, N, 2, -1, 2, &one, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(N, N, 2, 2, -1, &one, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(CUBLAS_OP_CONJG, N, 2, 2, 2, &one, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(N, CUBLAS_OP_CONJG, 2, 2, 2, &one, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(N, N, 2, 2, 1, &one, 1, 1, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  CHECK(sgemm(T, N, 2, 2, 2, &one, 1, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);  // lda < k
  CHECK(sgemm(N, N, 2, 2, 2, &one, 2, 1, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);  // ldb < k
  CHECK(sgemm(N, T, 2, 2, 1, &one, 2, 1, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);  // ldb < n
  CHECK(sgemm(N, N, 2, 2, 2, &one, 2, 2, &one, c.get(), 1) == CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  CHECK(sgemm(N, N, 0, 2, 2, &one, 1, 2, &one, c.get(), 0) == CUBLAS_STATUS_INVALID_VALUE);  // ldc < 1
  CHECK(sgemm(N, N, 0, 2, 2, &one, 0, 2, &one, c.get(), 1) == CUBLAS_STATUS_INVALID_VALUE);  // lda < 1
  CHECK(sgemm(N, N, 2, 2, 2, nullptr, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(N, N, 2, 2, 2, &one, 2, 2, nullptr, c.get(), 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(sgemm(N, N, 2, 2, 2, &one, 2, 2, &one, nullptr, 2) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasSgemmStridedBatched(h.handle, N, N, 2, 2, 2, &one, a.get(), 2, 4, b.get(), 2, 4, &one, c.get(), 2, 4,
                                  -1) == CUBLAS_STATUS_INVALID_VALUE);

  auto gemm_ex = [&](cudaDataType_t ab_type, cudaDataType_t c_type, void* C, cublasComputeType_t compute,
                     cublasGemmAlgo_t algo) {
    return cublasGemmEx(h.handle, N, N, 2, 2, 2, &one, a.get(), ab_type, 2, b.get(), ab_type, 2, &one, C, c_type, 2,
                        compute, algo);
  };
  // Values that are no enumerator: INVALID_VALUE.
  CHECK(gemm_ex(static_cast<cudaDataType_t>(40), CUDA_R_32F, c.get(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_INVALID_VALUE);
  CHECK(gemm_ex(CUDA_R_32F, CUDA_R_32F, c.get(), static_cast<cublasComputeType_t>(66), CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_INVALID_VALUE);
  CHECK(gemm_ex(CUDA_R_32F, CUDA_R_32F, c.get(), CUBLAS_COMPUTE_32F, static_cast<cublasGemmAlgo_t>(50)) ==
        CUBLAS_STATUS_INVALID_VALUE);
  // Combinations cuBLAS's table does not list: NOT_SUPPORTED, no finding.
  CHECK(gemm_ex(CUDA_R_32F, CUDA_R_64F, c64.get(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(gemm_ex(CUDA_R_64F, CUDA_R_64F, c64.get(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(gemm_ex(CUDA_R_32F, CUDA_R_32F, c.get(), CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  CHECK(cublasGemmEx(h.handle, N, N, 2, 2, 2, &one, a.get(), CUDA_R_32F, 2, b.get(), CUDA_R_64F, 2, &one, c.get(),
                     CUDA_R_32F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_NOT_SUPPORTED);
  check_no_finding();
  // What cuBLAS supports but the emulated device does not model: NOT_SUPPORTED, and a finding saying so.
  CHECK(gemm_ex(CUDA_R_16F, CUDA_R_32F, c.get(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  check_one_finding({"cublasGemmEx", "does not model"});
  CHECK(gemm_ex(CUDA_R_32F, CUDA_R_32F, c.get(), CUBLAS_COMPUTE_32F_FAST_16F, CUBLAS_GEMM_DEFAULT) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  check_one_finding({"cublasGemmEx", "CUBLAS_COMPUTE_32F_FAST_16F", "does not model"});
  CHECK(gemm_ex(CUDA_R_32F, CUDA_R_32F, c.get(), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_AUTOTUNE) ==
        CUBLAS_STATUS_NOT_SUPPORTED);
  check_one_finding({"cublasGemmEx", "CUBLAS_GEMM_AUTOTUNE"});
  REQUIRE(cublasSetMathMode(h.handle, CUBLAS_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS);
  CHECK(sgemm(N, N, 2, 2, 2, &one, 2, 2, &one, c.get(), 2) == CUBLAS_STATUS_NOT_SUPPORTED);
  check_one_finding({"cublasSgemm", "CUBLAS_TENSOR_OP_MATH", "does not model"});

  CHECK(c.download() == std::vector<float>{7, 7, 7, 7});
  CHECK(c64.download() == std::vector<double>{7, 7, 7, 7});
}

TEST_CASE("emu cublas: pointer mode DEVICE reads alpha and beta when the work runs, HOST reads them at the call") {
  BlasHandle h;
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  REQUIRE(cublasSetStream(h.handle, stream) == CUBLAS_STATUS_SUCCESS);
  DeviceBuffer<float> a(a_stored(CUBLAS_OP_N)), b(b_stored(CUBLAS_OP_N)), c({1, 3, 2, 4});
  auto capture_sgemm = [&](const float* alpha, const float* beta) {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    REQUIRE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal) == cudaSuccess);
    const cublasStatus_t status = cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, alpha, a.get(), 3, b.get(),
                                              4, beta, c.get(), 2);
    REQUIRE(cudaStreamEndCapture(stream, &graph) == cudaSuccess);
    REQUIRE(status == CUBLAS_STATUS_SUCCESS);
    REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
    REQUIRE(cudaGraphDestroy(graph) == cudaSuccess);
    return exec;
  };

  SUBCASE("device scalars changed after the capture are the ones the replay uses") {
    DeviceBuffer<float> alpha({1}), beta({0});
    REQUIRE(cublasSetPointerMode(h.handle, CUBLAS_POINTER_MODE_DEVICE) == CUBLAS_STATUS_SUCCESS);
    cudaGraphExec_t exec = capture_sgemm(alpha.get(), beta.get());
    check_same(c.download(), {1, 3, 2, 4});  // captured, not run
    alpha.upload({2});
    beta.upload({-1});
    REQUIRE(cudaGraphLaunch(exec, stream) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    check_same(c.download(), {115, 275, 126, 304});  // 2 [58 64; 139 154] - [1 2; 3 4]
    REQUIRE(cudaGraphExecDestroy(exec) == cudaSuccess);
  }
  SUBCASE("host scalars are taken at the call: changing them before the replay changes nothing") {
    float alpha = 1, beta = 0;
    cudaGraphExec_t exec = capture_sgemm(&alpha, &beta);
    alpha = 2;
    beta = -1;
    REQUIRE(cudaGraphLaunch(exec, stream) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    check_same(c.download(), {58, 139, 64, 154});
    REQUIRE(cudaGraphExecDestroy(exec) == cudaSuccess);
  }
  REQUIRE(cublasSetStream(h.handle, nullptr) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
  check_no_finding();
}

TEST_CASE("emu cublas: scalars in the wrong memory for the pointer mode are findings") {
  BlasHandle h;
  DeviceBuffer<float> a({2}), b({3}), c({5}), device_one({1});
  const float zero = 0;
  // HOST mode, alpha in device memory: the host would read device memory.
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, device_one.get(), a.get(), 1, b.get(), 1, &zero,
                    c.get(), 1) == CUBLAS_STATUS_INVALID_VALUE);
  check_one_finding({"cublasSgemm", "alpha", "CUBLAS_POINTER_MODE_HOST"});
  // DEVICE mode, beta on the host: found when the work runs.
  REQUIRE(cublasSetPointerMode(h.handle, CUBLAS_POINTER_MODE_DEVICE) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, device_one.get(), a.get(), 1, b.get(), 1, &zero,
                    c.get(), 1) == CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasSgemm", "beta", "CUBLAS_POINTER_MODE_DEVICE"});
  CHECK(c.download() == std::vector<float>{5});
}

TEST_CASE("emu cublas: an operand outside one device allocation is a finding naming it, its exact extent is enough") {
  BlasHandle h;
  const float one = 1, zero = 0;
  // A: 2 x 3 with lda 3 reaches 3 * 2 + 2 = 8 elements (the last column needs only its 2 rows).
  DeviceBuffer<float> a({1, 4, nan_f, 2, 5, nan_f, 3, 6}), b(b_stored(CUBLAS_OP_N)), c({0, 0, 0, 0});
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.get(), 3, b.get(), 4, &zero, c.get(), 2) ==
          CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), {58, 139, 64, 154});
  check_no_finding();

  c.upload({0, 0, 0, 0});
  // One element further: past the allocation.
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.get() + 1, 3, b.get(), 4, &zero, c.get(),
                    2) == CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasSgemm: A (", "2 x 3 as stored, ld 3", "32 bytes", "is not inside one device allocation"});
  const std::vector<float> host_b = b_stored(CUBLAS_OP_N);
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.get(), 3, host_b.data(), 4, &zero, c.get(),
                    2) == CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasSgemm: B (", "is not inside one device allocation"});
  std::vector<float> host_c(4, 0.0f);
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.get(), 3, b.get(), 4, &zero, host_c.data(),
                    2) == CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasSgemm: C (", "is not inside one device allocation"});
  CHECK(host_c == std::vector<float>(4, 0.0f));
  CHECK(c.download() == std::vector<float>(4, 0.0f));
}

TEST_CASE("emu cublas: strided batched GEMMs use A + i strideA, B + i strideB, C + i strideC") {
  BlasHandle h;
  const float one = 1, zero = 0;
  // A_0 = I, A_1 = 2 I, A_2 = [0 1; 1 0] with strideA 5 (a NaN gap after each; the last needs only 4);
  // B_0 = [1 2; 3 4], B_1 = [5 6; 7 8], B_2 = [1 2; 3 4] with strideB 4. C_i = A_i B_i:
  // [1 2; 3 4], [10 12; 14 16], [3 4; 1 2].
  DeviceBuffer<float> a({1, 0, 0, 1, nan_f, 2, 0, 0, 2, nan_f, 0, 1, 1, 0});
  DeviceBuffer<float> b({1, 3, 2, 4, 5, 7, 6, 8, 1, 3, 2, 4});
  DeviceBuffer<float> c(std::vector<float>(12, nan_f));
  const std::vector<float> want = {1, 3, 2, 4, 10, 14, 12, 16, 3, 1, 4, 2};
  REQUIRE(cublasSgemmStridedBatched(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.get(), 2, 5, b.get(), 2, 4,
                                    &zero, c.get(), 2, 4, 3) == CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), want);
  // The same through cublasGemmStridedBatchedEx with TF32 (small integers are exact in TF32).
  c.upload(std::vector<float>(12, nan_f));
  REQUIRE(cublasGemmStridedBatchedEx(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.get(), CUDA_R_32F, 2, 5,
                                     b.get(), CUDA_R_32F, 2, 4, &zero, c.get(), CUDA_R_32F, 2, 4, 3,
                                     CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), want);
  // batchCount 0: nothing.
  REQUIRE(cublasSgemmStridedBatched(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.get(), 2, 5, b.get(), 2, 4,
                                    &zero, c.get(), 2, 4, 0) == CUBLAS_STATUS_SUCCESS);
  check_same(c.download(), want);

  // Interleaved C (ldc 4, strideC 2): the batches share columns but no element. Outer products (k = 1):
  // a_0 = [1; 2], b_0 = [1 10] -> [1 10; 2 20];  a_1 = [3; 4], b_1 = [100 1000] -> [300 3000; 400 4000].
  DeviceBuffer<double> a2({1, 2, 3, 4}), b2({1, 10, 100, 1000}), c2(std::vector<double>(8, nan_d));
  const double one_d = 1, zero_d = 0;
  REQUIRE(cublasDgemmStridedBatched(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 1, &one_d, a2.get(), 2, 2, b2.get(), 1,
                                    2, &zero_d, c2.get(), 4, 2, 2) == CUBLAS_STATUS_SUCCESS);
  check_same(c2.download(), {1, 2, 300, 400, 10, 20, 3000, 4000});
  check_no_finding();

  // strideC 1 with m = 2: batch 1's C(0, 0) is batch 0's C(1, 0). cuBLAS leaves overlap undefined: a finding.
  CHECK(cublasDgemmStridedBatched(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 1, &one_d, a2.get(), 2, 2, b2.get(), 1, 2,
                                  &zero_d, c2.get(), 4, 1, 2) == CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasDgemmStridedBatched", "overlap"});
}

TEST_CASE("emu cublas: TF32 rounds both operands to nearest, ties to even, and accumulates in FP32") {
  BlasHandle h;
  // TF32 keeps 10 mantissa bits: near 1 its spacing is 2^-10.
  //   1 + 3*2^-12 (0.75 of a spacing above 1)  -> 1 + 2^-10
  //   1 + 2^-12   (0.25)                       -> 1
  //   1 + 2^-11   (a tie; 1 is even)           -> 1          (ties away from zero would give 1 + 2^-10)
  //   1 + 3*2^-11 (a tie; 1 + 2^-9 is even)    -> 1 + 2^-9   (truncation would give 1 + 2^-10)
  //   the last two negated                     -> -1, -(1 + 2^-9)
  const std::vector<float> values = {1 + 3 * pow2f(-12), 1 + pow2f(-12),       1 + pow2f(-11),
                                     1 + 3 * pow2f(-11), -(1 + pow2f(-11)),    -(1 + 3 * pow2f(-11))};
  const std::vector<float> tf32 = {1 + pow2f(-10), 1, 1, 1 + pow2f(-9), -1, -(1 + pow2f(-9))};
  const int count = static_cast<int>(values.size());
  DeviceBuffer<float> column(values), unit({1}), c(std::vector<float>(values.size(), nan_f));
  const float one = 1, zero = 0;

  enum class Entry { sgemm, gemm_ex, strided };
  // C = values (count x 1) times 1, and C = 1 times values (1 x count): each entry is one operand, rounded or not.
  auto products = [&](Entry entry, cublasComputeType_t compute, bool values_as_b) {
    const int m = values_as_b ? 1 : count, n = values_as_b ? count : 1;
    const float* A = values_as_b ? unit.get() : column.get();
    const float* B = values_as_b ? column.get() : unit.get();
    const int lda = m, ldb = 1, ldc = m;
    c.upload(std::vector<float>(values.size(), nan_f));
    cublasStatus_t status = CUBLAS_STATUS_INTERNAL_ERROR;
    if (entry == Entry::sgemm)
      status = cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 1, &one, A, lda, B, ldb, &zero, c.get(), ldc);
    else if (entry == Entry::gemm_ex)
      status = cublasGemmEx(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 1, &one, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb,
                            &zero, c.get(), CUDA_R_32F, ldc, compute, CUBLAS_GEMM_DEFAULT);
    else
      status = cublasSgemmStridedBatched(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 1, &one, A, lda, 0, B, ldb, 0,
                                         &zero, c.get(), ldc, 0, 1);
    REQUIRE(status == CUBLAS_STATUS_SUCCESS);
    return c.download();
  };
  auto check_both_operands = [&](Entry entry, cublasComputeType_t compute, const std::vector<float>& want) {
    check_same(products(entry, compute, false), want);
    check_same(products(entry, compute, true), want);
  };

  SUBCASE("math mode CUBLAS_TF32_TENSOR_OP_MATH: Sgemm, strided Sgemm and GemmEx with CUBLAS_COMPUTE_32F round") {
    REQUIRE(cublasSetMathMode(h.handle, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS);
    check_both_operands(Entry::sgemm, CUBLAS_COMPUTE_32F, tf32);
    check_both_operands(Entry::strided, CUBLAS_COMPUTE_32F, tf32);
    check_both_operands(Entry::gemm_ex, CUBLAS_COMPUTE_32F, tf32);
    check_both_operands(Entry::gemm_ex, CUBLAS_COMPUTE_32F_PEDANTIC, values);  // pedantic stays FP32
  }
  SUBCASE("CUBLAS_COMPUTE_32F_FAST_TF32 rounds whatever the math mode; default and pedantic math do not") {
    for (cublasMath_t mode : {CUBLAS_DEFAULT_MATH, CUBLAS_PEDANTIC_MATH}) {
      CAPTURE(mode);
      REQUIRE(cublasSetMathMode(h.handle, mode) == CUBLAS_STATUS_SUCCESS);
      check_both_operands(Entry::gemm_ex, CUBLAS_COMPUTE_32F_FAST_TF32, tf32);
      check_both_operands(Entry::gemm_ex, CUBLAS_COMPUTE_32F, values);
      check_both_operands(Entry::sgemm, CUBLAS_COMPUTE_32F, values);
    }
  }
  SUBCASE("NVIDIA_TF32_OVERRIDE=0 turns TF32 off") {
    REQUIRE(setenv("NVIDIA_TF32_OVERRIDE", "0", 1) == 0);
    check_both_operands(Entry::gemm_ex, CUBLAS_COMPUTE_32F_FAST_TF32, values);
    REQUIRE(unsetenv("NVIDIA_TF32_OVERRIDE") == 0);
    check_both_operands(Entry::gemm_ex, CUBLAS_COMPUTE_32F_FAST_TF32, tf32);
  }
  SUBCASE("the sum is FP32: [1 2^-12] [1; 1] = 1 + 2^-12, below TF32's spacing at 1") {
    DeviceBuffer<float> a({1, pow2f(-12)}), b({1, 1}), sum({nan_f});
    REQUIRE(cublasGemmEx(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, a.get(), CUDA_R_32F, 1, b.get(),
                         CUDA_R_32F, 2, &zero, sum.get(), CUDA_R_32F, 1, CUBLAS_COMPUTE_32F_FAST_TF32,
                         CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
    CHECK(sum.download()[0] == 1 + pow2f(-12));
  }
  check_no_finding();
}

TEST_CASE("emu cublas: three TF32 GEMMs (3xTF32) recover FP32 accuracy where one loses it") {
  BlasHandle h;
  // a = 1 + 3*2^-12 and b = 1 + 5*2^-13, split into TF32 halves (hi rounded to nearest, lo = the rest):
  //   a_hi = 1 + 2^-10, a_lo = -2^-12;  b_hi = 1 + 2^-10, b_lo = -3*2^-13.
  // Exact: a b = 1 + 11*2^-13 + 15*2^-25. FP32's spacing at 1 is 2^-23, so fl(a b) = 1 + 11*2^-13 + 2^-21.
  // 1xTF32: a_hi b_hi = 1 + 2^-9 + 2^-20, off by about 5*2^-13.
  // 3xTF32, small terms first, each call's result rounded to float:
  //   C = a_lo b_hi           = -2^-12 - 2^-22
  //   C = a_hi b_lo + C       = -3*2^-13 - 3*2^-23 - 2^-12 - 2^-22 = -5*2^-13 - 5*2^-23
  //   C = a_hi b_hi + C       = 1 + 2^-9 + 2^-20 - 5*2^-13 - 5*2^-23 = 1 + 11*2^-13 + 3*2^-23
  // which is within one FP32 spacing (0.75 * 2^-23) of the exact product.
  const float a = 1 + 3 * pow2f(-12), b = 1 + 5 * pow2f(-13);
  const float a_hi = 1 + pow2f(-10), a_lo = -pow2f(-12), b_hi = 1 + pow2f(-10), b_lo = -3 * pow2f(-13);
  REQUIRE(a_hi + a_lo == a);
  REQUIRE(b_hi + b_lo == b);
  DeviceBuffer<float> d_a({a}), d_b({b}), d_a_hi({a_hi}), d_a_lo({a_lo}), d_b_hi({b_hi}), d_b_lo({b_lo}), c({nan_f});
  const float one = 1, zero = 0;
  auto tf32_gemm = [&](const float* A, const float* B, const float* beta, cublasComputeType_t compute) {
    REQUIRE(cublasGemmEx(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, A, CUDA_R_32F, 1, B, CUDA_R_32F, 1, beta,
                         c.get(), CUDA_R_32F, 1, compute, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  };
  const double exact = 1 + 11 * std::ldexp(1.0, -13) + 15 * std::ldexp(1.0, -25);
  const double fp32_spacing = std::ldexp(1.0, -23);

  tf32_gemm(d_a.get(), d_b.get(), &zero, CUBLAS_COMPUTE_32F_PEDANTIC);
  const float fp32 = c.download()[0];
  CHECK(fp32 == 1 + 11 * pow2f(-13) + pow2f(-21));

  tf32_gemm(d_a.get(), d_b.get(), &zero, CUBLAS_COMPUTE_32F_FAST_TF32);
  const float one_tf32 = c.download()[0];
  CHECK(one_tf32 == 1 + pow2f(-9) + pow2f(-20));
  CHECK(std::abs(one_tf32 - exact) > 1000 * fp32_spacing);

  c.upload({nan_f});  // beta 0 in the first call: C's old value is never read
  tf32_gemm(d_a_lo.get(), d_b_hi.get(), &zero, CUBLAS_COMPUTE_32F_FAST_TF32);
  CHECK(c.download()[0] == -pow2f(-12) - pow2f(-22));
  tf32_gemm(d_a_hi.get(), d_b_lo.get(), &one, CUBLAS_COMPUTE_32F_FAST_TF32);
  CHECK(c.download()[0] == -5 * pow2f(-13) - 5 * pow2f(-23));
  tf32_gemm(d_a_hi.get(), d_b_hi.get(), &one, CUBLAS_COMPUTE_32F_FAST_TF32);
  const float three_tf32 = c.download()[0];
  CHECK(three_tf32 == 1 + 11 * pow2f(-13) + 3 * pow2f(-23));
  CHECK(std::abs(three_tf32 - exact) < fp32_spacing);
  check_no_finding();
}

TEST_CASE("emu cublas: each product and each sum rounds on its own (no fused multiply-add)") {
  BlasHandle h;
  const float zero = 0;
  const float one = 1;
  // [-1  1 + 2^-12] [1; 1 + 2^-12]: (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 rounds (a tie, to even) to 1 + 2^-11, so
  // the sum is -1 + (1 + 2^-11) = 2^-11; a fused multiply-add would keep 2^-11 + 2^-24.
  DeviceBuffer<float> a({-1, 1 + pow2f(-12)}), b({1, 1 + pow2f(-12)}), c({nan_f});
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 2, &one, a.get(), 1, b.get(), 2, &zero, c.get(), 1) ==
          CUBLAS_STATUS_SUCCESS);
  CHECK(c.download()[0] == pow2f(-11));
  // alpha acc + beta c: alpha = acc = 1 + 2^-12 gives alpha acc = 1 + 2^-11 after rounding; beta c = -1.
  DeviceBuffer<float> a1({1 + pow2f(-12)}), b1({1}), c1({1});
  const float alpha = 1 + pow2f(-12), beta = -1;
  REQUIRE(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, a1.get(), 1, b1.get(), 1, &beta, c1.get(),
                      1) == CUBLAS_STATUS_SUCCESS);
  CHECK(c1.download()[0] == pow2f(-11));
  check_no_finding();
}

TEST_CASE("emu cublas: an integer-valued product is exact at every entry for every op pair and padded layout") {
  BlasHandle h;
  // Sizes that are not multiples of anything the implementation blocks by; entries in -3 .. 3, so every partial
  // sum is an integer well inside float's exact range and any summation order gives the same, exact result.
  const int m = 37, n = 29, k = 23, pad = 3;
  auto op_a = [](int i, int p) { return float((i * 7 + p * 3) % 7 - 3); };
  auto op_b = [](int p, int j) { return float((p * 5 + j * 2) % 7 - 3); };
  auto c_start = [](int i, int j) { return float((i + 2 * j) % 5 - 2); };
  for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      CAPTURE(ta);
      CAPTURE(tb);
      const int a_rows = ta == CUBLAS_OP_N ? m : k, a_cols = ta == CUBLAS_OP_N ? k : m;
      const int b_rows = tb == CUBLAS_OP_N ? k : n, b_cols = tb == CUBLAS_OP_N ? n : k;
      const int lda = a_rows + pad, ldb = b_rows + pad, ldc = m + pad;
      std::vector<float> a_host(std::size_t(lda) * a_cols, nan_f), b_host(std::size_t(ldb) * b_cols, nan_f);
      for (int i = 0; i < m; ++i)
        for (int p = 0; p < k; ++p)
          a_host[ta == CUBLAS_OP_N ? i + std::size_t(p) * lda : p + std::size_t(i) * lda] = op_a(i, p);
      for (int p = 0; p < k; ++p)
        for (int j = 0; j < n; ++j)
          b_host[tb == CUBLAS_OP_N ? p + std::size_t(j) * ldb : j + std::size_t(p) * ldb] = op_b(p, j);
      std::vector<float> c_host(std::size_t(ldc) * n, nan_f), want = c_host;
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
          long exact = 0;
          for (int p = 0; p < k; ++p) exact += long(op_a(i, p)) * long(op_b(p, j));
          c_host[i + std::size_t(j) * ldc] = c_start(i, j);
          want[i + std::size_t(j) * ldc] = float(2 * exact + 3 * long(c_start(i, j)));  // alpha 2, beta 3
        }
      DeviceBuffer<float> a(a_host), b(b_host), c(c_host);
      const float alpha = 2, beta = 3;
      REQUIRE(cublasSgemm(h.handle, ta, tb, m, n, k, &alpha, a.get(), lda, b.get(), ldb, &beta, c.get(), ldc) ==
              CUBLAS_STATUS_SUCCESS);
      check_same(c.download(), want);

      std::vector<double> a64(a_host.begin(), a_host.end()), b64(b_host.begin(), b_host.end());
      std::vector<double> c64(c_host.begin(), c_host.end()), want64(want.begin(), want.end());
      DeviceBuffer<double> da(a64), db(b64), dc(c64);
      const double alpha64 = 2, beta64 = 3;
      REQUIRE(cublasDgemm(h.handle, ta, tb, m, n, k, &alpha64, da.get(), lda, db.get(), ldb, &beta64, dc.get(), ldc) ==
              CUBLAS_STATUS_SUCCESS);
      check_same(dc.download(), want64);
    }
  check_no_finding();
}

TEST_CASE("emu cublas: a dead stream is refused by cublasSetStream, and a GEMM on one fails with a finding") {
  BlasHandle h;
  DeviceBuffer<float> a({2}), b({3}), c({5});
  const float one = 1, zero = 0;
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  REQUIRE(cublasSetStream(h.handle, stream) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
  CHECK(cublasSgemm(h.handle, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a.get(), 1, b.get(), 1, &zero, c.get(), 1) ==
        CUBLAS_STATUS_EXECUTION_FAILED);
  check_one_finding({"cublasSgemm"});
  CHECK(cublasSetStream(h.handle, stream) == CUBLAS_STATUS_INVALID_VALUE);
  check_one_finding({"cublasSetStream", "destroyed"});
  REQUIRE(cublasSetStream(h.handle, nullptr) == CUBLAS_STATUS_SUCCESS);
  CHECK(c.download() == std::vector<float>{5});
}
