// The emulated device's cuBLAS (cublas_v2.h). Handles live in a registry that keeps destroyed ones, so a use
// after cublasDestroy is reported instead of reading freed memory. Each GEMM is checked as cuBLAS documents it,
// then runs as stream-ordered work (emu::enqueue): C = alpha op(A) op(B) + beta C with every entry summed in k
// order in the compute precision (operands rounded to TF32 first where the compute type or math mode asks),
// then scaled; operands, device scalars and the workspace are checked against device memory when it runs.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cublas_v2.h"
#include "emu.h"

// Every product and every sum below rounds on its own (no fused multiply-add), as the definition reads, whatever
// -ffp-contract or -march the build uses.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

struct cublasContext {
  cudaStream_t stream = nullptr;  // the legacy default stream until cublasSetStream
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math_mode = CUBLAS_DEFAULT_MATH;
  void* workspace = nullptr;  // a user workspace (cublasSetWorkspace); bytes 0: the library's default pool
  std::size_t workspace_bytes = 0;
};

namespace {

namespace emu = jetpinn::emu;

// ---- handles ---------------------------------------------------------------------------------------------

struct HandleRegistry {
  std::mutex mutex;
  // Every context cublasCreate made -> whether it is still alive. Destroyed ones are never freed, so their
  // address is never handed out again and a stale handle stays recognisable.
  std::map<const cublasContext*, bool> contexts;
};
HandleRegistry& registry() {
  static auto* handles = new HandleRegistry;  // never destroyed: usable from destructors that run at exit
  return *handles;
}

std::string pointer_text(const void* p) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", p);
  return text;
}

// The live context behind `handle`; null after a finding that names `call` and what is wrong with the handle.
cublasContext* live_context(cublasHandle_t handle, const char* call) {
  const char* problem = nullptr;
  {
    std::lock_guard lock(registry().mutex);
    const auto it = registry().contexts.find(handle);
    if (it != registry().contexts.end() && it->second) return handle;
    problem = handle == nullptr                       ? "is null"
              : it == registry().contexts.end()       ? "was never returned by cublasCreate"
                                                      : "was used after cublasDestroy";
  }
  emu::report(std::string(call) + ": handle " + pointer_text(handle) + " " + problem);
  return nullptr;
}

// A copy of a live handle's settings, taken at the call (cuBLAS reads them when the routine is called).
bool read_settings(cublasHandle_t handle, const char* call, cublasContext& settings) {
  cublasContext* context = live_context(handle, call);
  if (context == nullptr) return false;
  std::lock_guard lock(registry().mutex);
  settings = *context;
  return true;
}

bool valid_math_mode(int mode) {
  const int flags = CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION | CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH;
  if (mode == CUBLAS_TENSOR_OP_MATH) return true;  // the deprecated mode combines with nothing
  const int base = mode & ~flags;
  return base == CUBLAS_DEFAULT_MATH || base == CUBLAS_PEDANTIC_MATH || base == CUBLAS_TF32_TENSOR_OP_MATH ||
         base == CUBLAS_FP32_EMULATED_BF16X9_MATH;
}

// ---- TF32 --------------------------------------------------------------------------------------------------

// x rounded to TF32 (sign, 8-bit exponent, 10 explicit mantissa bits), returned as a float. cuBLAS documents its
// TF32 input conversion (CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_TF32_TENSOR_OP_MATH) as round to nearest, ties to
// even; PTX's cvt.rna.tf32.f32 would break ties away from zero instead, which is not what cuBLAS says it does.
// The 13 low mantissa bits of the float are the part rounded off; a carry out of the mantissa moves into the
// exponent, which is the right result for every finite x (the largest ones round to infinity, as IEEE
// rounding to nearest does). Infinities and NaNs pass unchanged.
float round_to_tf32(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  if ((bits & 0x7f800000u) == 0x7f800000u) return x;
  constexpr std::uint32_t dropped_mask = (1u << 13) - 1;  // the float mantissa bits TF32 does not keep
  constexpr std::uint32_t half_unit = 1u << 12;           // half a unit in TF32's last place
  constexpr std::uint32_t unit = 1u << 13;                // one unit in TF32's last place
  const std::uint32_t dropped = bits & dropped_mask;
  std::uint32_t kept = bits & ~dropped_mask;
  const bool kept_is_odd = (kept & unit) != 0;
  if (dropped > half_unit || (dropped == half_unit && kept_is_odd)) kept += unit;
  return std::bit_cast<float>(kept);
}

// NVIDIA_TF32_OVERRIDE=0 turns TF32 off in every NVIDIA library, cuBLAS included (documented for cuBLAS).
bool tf32_overridden_off() {
  const char* value = std::getenv("NVIDIA_TF32_OVERRIDE");
  return value != nullptr && std::strcmp(value, "0") == 0;
}

// ---- what a call computes ----------------------------------------------------------------------------------

// How a GEMM multiplies: in float with the operands as stored or rounded to TF32 first, or in double.
enum class Precision { fp32, tf32, fp64 };

cublasStatus_t not_modelled(const char* call, const std::string& what) {
  emu::report(std::string(call) + ": " + what + ", which the emulated device does not model");
  return CUBLAS_STATUS_NOT_SUPPORTED;
}

const char* compute_type_name(cublasComputeType_t type) {
  switch (type) {
    case CUBLAS_COMPUTE_16F: return "CUBLAS_COMPUTE_16F";
    case CUBLAS_COMPUTE_16F_PEDANTIC: return "CUBLAS_COMPUTE_16F_PEDANTIC";
    case CUBLAS_COMPUTE_32F: return "CUBLAS_COMPUTE_32F";
    case CUBLAS_COMPUTE_32F_PEDANTIC: return "CUBLAS_COMPUTE_32F_PEDANTIC";
    case CUBLAS_COMPUTE_32F_FAST_16F: return "CUBLAS_COMPUTE_32F_FAST_16F";
    case CUBLAS_COMPUTE_32F_FAST_16BF: return "CUBLAS_COMPUTE_32F_FAST_16BF";
    case CUBLAS_COMPUTE_32F_FAST_TF32: return "CUBLAS_COMPUTE_32F_FAST_TF32";
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9: return "CUBLAS_COMPUTE_32F_EMULATED_16BFX9";
    case CUBLAS_COMPUTE_64F: return "CUBLAS_COMPUTE_64F";
    case CUBLAS_COMPUTE_64F_PEDANTIC: return "CUBLAS_COMPUTE_64F_PEDANTIC";
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT: return "CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT";
    case CUBLAS_COMPUTE_32I: return "CUBLAS_COMPUTE_32I";
    case CUBLAS_COMPUTE_32I_PEDANTIC: return "CUBLAS_COMPUTE_32I_PEDANTIC";
  }
  return "an unknown compute type";
}

// A float GEMM's precision: the compute type, and for CUBLAS_COMPUTE_32F (what cublasSgemm uses) the handle's
// math mode. An explicit compute type other than CUBLAS_COMPUTE_32F is taken as given, whatever the math mode.
cublasStatus_t single_precision(const char* call, cublasMath_t math_mode, cublasComputeType_t compute,
                                Precision& precision) {
  const Precision tf32_unless_overridden = tf32_overridden_off() ? Precision::fp32 : Precision::tf32;
  switch (compute) {
    case CUBLAS_COMPUTE_32F_PEDANTIC: precision = Precision::fp32; return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F_FAST_TF32: precision = tf32_unless_overridden; return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_COMPUTE_32F: break;
    default: return not_modelled(call, std::string("compute type ") + compute_type_name(compute));
  }
  const int flags = CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION | CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH;
  switch (static_cast<int>(math_mode) & ~flags) {
    case CUBLAS_DEFAULT_MATH:  // "at least the mantissa bits requested": float as it is
    case CUBLAS_PEDANTIC_MATH: precision = Precision::fp32; return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_TF32_TENSOR_OP_MATH: precision = tf32_unless_overridden; return CUBLAS_STATUS_SUCCESS;
    case CUBLAS_TENSOR_OP_MATH:
      return not_modelled(call, "math mode CUBLAS_TENSOR_OP_MATH makes single-precision GEMMs use "
                                "CUBLAS_COMPUTE_32F_FAST_16F");
    default:
      return not_modelled(call, "math mode CUBLAS_FP32_EMULATED_BF16X9_MATH makes single-precision GEMMs use "
                                "CUBLAS_COMPUTE_32F_EMULATED_16BFX9");
  }
}

cublasStatus_t double_precision(const char* call, cublasMath_t math_mode, cublasComputeType_t compute,
                                Precision& precision) {
  if (compute == CUBLAS_COMPUTE_64F_PEDANTIC ||
      (compute == CUBLAS_COMPUTE_64F && (math_mode & CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH) == 0)) {
    precision = Precision::fp64;
    return CUBLAS_STATUS_SUCCESS;
  }
  if (compute == CUBLAS_COMPUTE_64F)
    return not_modelled(call, "math mode CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH (fixed-point emulation of FP64)");
  return not_modelled(call, std::string("compute type ") + compute_type_name(compute));
}

// ---- argument checks ---------------------------------------------------------------------------------------

struct GemmShape {
  cublasOperation_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N;
  int m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  long long stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batches
  int batch_count = 1;
};

bool valid_operation(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// cuBLAS's CUBLAS_STATUS_INVALID_VALUE conditions on sizes, operations and leading dimensions (lda at least the
// rows of A as stored, and at least 1, even for an empty matrix).
bool valid_shape(const GemmShape& s) {
  if (s.m < 0 || s.n < 0 || s.k < 0 || s.batch_count < 0) return false;
  if (!valid_operation(s.transa) || !valid_operation(s.transb)) return false;
  const int a_rows = s.transa == CUBLAS_OP_N ? s.m : s.k;
  const int b_rows = s.transb == CUBLAS_OP_N ? s.k : s.n;
  return s.lda >= std::max(1, a_rows) && s.ldb >= std::max(1, b_rows) && s.ldc >= std::max(1, s.m);
}

bool known_data_type(cudaDataType_t type) {
  const int value = type;
  return value >= CUDA_R_32F && value <= CUDA_R_4F_E2M1;  // library_types.h numbers them 0 .. 33 without gaps
}
bool known_compute_type(cublasComputeType_t type) {
  switch (type) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT:
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC: return true;
  }
  return false;
}
bool known_algorithm(cublasGemmAlgo_t algo) {
  const int value = algo;
  return value == CUBLAS_GEMM_DEFAULT || (value >= CUBLAS_GEMM_ALGO0 && value <= CUBLAS_GEMM_ALGO23) ||
         (value >= CUBLAS_GEMM_DEFAULT_TENSOR_OP && value <= CUBLAS_GEMM_ALGO15_TENSOR_OP) ||
         value == CUBLAS_GEMM_AUTOTUNE;
}

// Whether cuBLAS's table for cublasGemmEx lists these types (A and B alike) under this compute type.
bool cublas_lists(cublasComputeType_t compute, cudaDataType_t ab_type, cudaDataType_t c_type) {
  auto is = [&](cudaDataType_t ab, cudaDataType_t c) { return ab_type == ab && c_type == c; };
  switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC: return is(CUDA_R_16F, CUDA_R_16F);
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC: return is(CUDA_R_8I, CUDA_R_32I);
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
      return is(CUDA_R_16BF, CUDA_R_16BF) || is(CUDA_R_16F, CUDA_R_16F) || is(CUDA_R_8I, CUDA_R_32F) ||
             is(CUDA_R_16BF, CUDA_R_32F) || is(CUDA_R_16F, CUDA_R_32F) || is(CUDA_R_32F, CUDA_R_32F) ||
             is(CUDA_C_8I, CUDA_C_32F) || is(CUDA_C_32F, CUDA_C_32F);
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9: return is(CUDA_R_32F, CUDA_R_32F) || is(CUDA_C_32F, CUDA_C_32F);
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT:
      return is(CUDA_R_64F, CUDA_R_64F) || is(CUDA_C_64F, CUDA_C_64F);
  }
  return false;
}

bool is_double_compute(cublasComputeType_t compute) {
  return compute == CUBLAS_COMPUTE_64F || compute == CUBLAS_COMPUTE_64F_PEDANTIC ||
         compute == CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT;
}

// ---- device memory checks (when the work runs) -------------------------------------------------------------

// One operand as stored: rows x cols with leading dimension ld, batch_count copies stride elements apart.
struct StoredOperand {
  const char* name;
  const void* base;
  std::int64_t rows, cols, ld, stride;
  int batch_count;
  std::size_t element_bytes;
};

// Whether every element the operand's layout reaches (rows, cols > 0) lies in one device allocation; else a
// finding naming the call, the operand and its layout.
bool check_device_extent(const char* call, const StoredOperand& op) {
  const std::int64_t one_copy = op.ld * (op.cols - 1) + op.rows;  // the last column needs only its rows
  const std::int64_t last_copy = op.stride * (op.batch_count - 1);
  const std::int64_t first = std::min<std::int64_t>(0, last_copy);
  const std::int64_t end = std::max<std::int64_t>(0, last_copy) + one_copy;
  // Integer arithmetic: the pointer may be anything, and forming it out of range as a pointer is undefined.
  const auto start = reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(op.base) +
                                                   static_cast<std::uintptr_t>(first * std::int64_t(op.element_bytes)));
  const auto bytes = static_cast<std::size_t>(end - first) * op.element_bytes;
  if (op.base != nullptr && emu::is_device_range(start, bytes)) return true;
  std::string layout = std::to_string(op.rows) + " x " + std::to_string(op.cols) + " as stored, ld " +
                       std::to_string(op.ld);
  if (op.batch_count > 1)
    layout += ", stride " + std::to_string(op.stride) + ", " + std::to_string(op.batch_count) + " batches";
  emu::report(std::string(call) + ": " + op.name + " (" + pointer_text(op.base) + ", " + layout + ": " +
              std::to_string(bytes) + " bytes from " + pointer_text(start) + ") is not inside one device allocation");
  return false;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Whether two copies of an m x n matrix (leading dimension ld >= m) `offset` elements apart share an element:
// offset = r + c ld with |r| < m and |c| < n. As |r| < m <= ld, only c = floor(offset / ld) and the next can work.
bool copies_overlap(std::int64_t m, std::int64_t n, std::int64_t ld, std::int64_t offset) {
  const std::int64_t c0 = floor_div(offset, ld);
  for (std::int64_t c : {c0, c0 + 1}) {
    const std::int64_t r = offset - c * ld;
    if (c > -n && c < n && r > -m && r < m) return true;
  }
  return false;
}

// ---- the GEMM itself ---------------------------------------------------------------------------------------

template <class T>
struct GemmWork {
  const char* call;
  GemmShape shape;
  Precision precision;
  const T* A;
  const T* B;
  T* C;
  bool scalars_on_device;
  T alpha, beta;  // pointer mode HOST: read at the call
  const T* alpha_on_device;  // pointer mode DEVICE: read when the work runs
  const T* beta_on_device;
  const void* workspace;  // the handle's user workspace at the call, checked to still be device memory
  std::size_t workspace_bytes;
};

template <class T>
T operand_value(T x, Precision precision) {
  if constexpr (std::is_same_v<T, float>) {
    if (precision == Precision::tf32) return round_to_tf32(x);
  }
  return x;
}

// out(i, p) = op(stored)(i, p) for the rows x cols operand op(stored), column-major with leading dimension rows,
// each value as the precision takes it. Reads only the elements op() uses (never the padding past the rows).
template <class T>
void pack_operand(const T* stored, std::int64_t ld, bool transposed, std::int64_t rows, std::int64_t cols,
                  Precision precision, std::vector<T>& out) {
  out.resize(static_cast<std::size_t>(rows * cols));
  for (std::int64_t p = 0; p < cols; ++p)
    for (std::int64_t i = 0; i < rows; ++i)
      out[static_cast<std::size_t>(i + p * rows)] =
          operand_value(transposed ? stored[p + i * ld] : stored[i + p * ld], precision);
}

// C = alpha op(A) op(B) + beta C for one batch. Each entry's sum runs over p = 0 .. k-1 in order, one rounding
// per product and per addition; four columns at a time so that a column of op(A) is reused from cache.
template <class T>
void gemm_one_batch(const GemmShape& s, Precision precision, bool multiplies, T alpha, T beta, const T* A, const T* B,
                    T* C, std::vector<T>& a_packed, std::vector<T>& b_packed, std::vector<T>& sums) {
  const std::int64_t m = s.m, n = s.n, k = s.k, ldc = s.ldc;
  if (!multiplies) {  // k == 0 or alpha == 0: C = beta C, and beta == 0 never reads C
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t i = 0; i < m; ++i) {
        T& c = C[i + j * ldc];
        c = beta == T(0) ? T(0) : beta * c;
      }
    return;
  }
  pack_operand(A, s.lda, s.transa != CUBLAS_OP_N, m, k, precision, a_packed);  // op(A): m x k
  pack_operand(B, s.ldb, s.transb != CUBLAS_OP_N, k, n, precision, b_packed);  // op(B): k x n
  constexpr std::int64_t column_block = 4;
  sums.resize(static_cast<std::size_t>(m * column_block));
  for (std::int64_t j0 = 0; j0 < n; j0 += column_block) {
    const std::int64_t width = std::min(column_block, n - j0);
    for (std::int64_t c = 0; c < width; ++c) {  // p = 0 starts each sum (0 + x would turn -0 into +0)
      T* __restrict sum = sums.data() + c * m;
      const T* __restrict a_column = a_packed.data();
      const T b_value = b_packed[static_cast<std::size_t>((j0 + c) * k)];
      for (std::int64_t i = 0; i < m; ++i) sum[i] = a_column[i] * b_value;
    }
    for (std::int64_t p = 1; p < k; ++p) {
      const T* __restrict a_column = a_packed.data() + p * m;
      for (std::int64_t c = 0; c < width; ++c) {
        T* __restrict sum = sums.data() + c * m;
        const T b_value = b_packed[static_cast<std::size_t>(p + (j0 + c) * k)];
        for (std::int64_t i = 0; i < m; ++i) sum[i] += a_column[i] * b_value;
      }
    }
    for (std::int64_t c = 0; c < width; ++c) {
      const T* sum = sums.data() + c * m;
      T* c_column = C + (j0 + c) * ldc;
      for (std::int64_t i = 0; i < m; ++i)
        c_column[i] = beta == T(0) ? alpha * sum[i] : alpha * sum[i] + beta * c_column[i];
    }
  }
}

template <class T>
void run_gemm(const GemmWork<T>& w) {
  T alpha = w.alpha, beta = w.beta;
  if (w.scalars_on_device) {
    bool readable = true;
    for (const auto& [name, scalar] : {std::pair{"alpha", w.alpha_on_device}, std::pair{"beta", w.beta_on_device}})
      if (!emu::is_device_range(scalar, sizeof(T))) {
        emu::report(std::string(w.call) + ": " + name + " (" + pointer_text(scalar) +
                    ") is not device memory, but the pointer mode is CUBLAS_POINTER_MODE_DEVICE");
        readable = false;
      }
    if (!readable) return;
    std::memcpy(&alpha, w.alpha_on_device, sizeof(T));
    std::memcpy(&beta, w.beta_on_device, sizeof(T));
  }
  if (w.workspace_bytes > 0 && !emu::is_device_range(w.workspace, w.workspace_bytes)) {
    emu::report(std::string(w.call) + ": the handle's workspace (" + pointer_text(w.workspace) + ", " +
                std::to_string(w.workspace_bytes) + " bytes) is no longer device memory (freed before the GEMM ran?)");
    return;
  }
  const GemmShape& s = w.shape;
  const bool multiplies = s.k > 0 && alpha != T(0);
  if (!multiplies && beta == T(1)) return;  // C = C: nothing is read or written
  bool operands_ok = true;
  if (multiplies) {
    const bool ta = s.transa != CUBLAS_OP_N, tb = s.transb != CUBLAS_OP_N;
    operands_ok &= check_device_extent(
        w.call, {"A", w.A, ta ? s.k : s.m, ta ? s.m : s.k, s.lda, s.stride_a, s.batch_count, sizeof(T)});
    operands_ok &= check_device_extent(
        w.call, {"B", w.B, tb ? s.n : s.k, tb ? s.k : s.n, s.ldb, s.stride_b, s.batch_count, sizeof(T)});
  }
  operands_ok &= check_device_extent(w.call, {"C", w.C, s.m, s.n, s.ldc, s.stride_c, s.batch_count, sizeof(T)});
  if (!operands_ok) return;
  for (std::int64_t later = 1; later < s.batch_count; ++later)
    if (copies_overlap(s.m, s.n, s.ldc, later * s.stride_c)) {
      emu::report(std::string(w.call) + ": the C matrices of batches 0 and " + std::to_string(later) +
                  " overlap (m " + std::to_string(s.m) + ", n " + std::to_string(s.n) + ", ldc " +
                  std::to_string(s.ldc) + ", strideC " + std::to_string(s.stride_c) +
                  "); cuBLAS leaves that undefined");
      return;
    }
  std::vector<T> a_packed, b_packed, sums;
  for (std::int64_t b = 0; b < s.batch_count; ++b)
    gemm_one_batch(s, w.precision, multiplies, alpha, beta, multiplies ? w.A + b * s.stride_a : nullptr,
                   multiplies ? w.B + b * s.stride_b : nullptr, w.C + b * s.stride_c, a_packed, b_packed, sums);
}

// The checks cuBLAS makes at the call that need the scalar type, then the work on the handle's stream.
template <class T>
cublasStatus_t launch_gemm(const char* call, const cublasContext& settings, const GemmShape& shape,
                           const void* alpha, const void* A, const void* B, const void* beta, void* C,
                           Precision precision) {
  GemmWork<T> work{call, shape, precision, static_cast<const T*>(A), static_cast<const T*>(B), static_cast<T*>(C),
                   settings.pointer_mode == CUBLAS_POINTER_MODE_DEVICE, T(0), T(0), nullptr, nullptr,
                   settings.workspace, settings.workspace_bytes};
  if (!work.scalars_on_device) {
    // On a GPU the host would dereference device memory here.
    for (const auto& [name, scalar] : {std::pair{"alpha", alpha}, std::pair{"beta", beta}})
      if (emu::is_device_range(scalar, sizeof(T))) {
        emu::report(std::string(call) + ": " + name + " (" + pointer_text(scalar) +
                    ") is device memory, but the pointer mode is CUBLAS_POINTER_MODE_HOST");
        return CUBLAS_STATUS_INVALID_VALUE;
      }
    std::memcpy(&work.alpha, alpha, sizeof(T));
    std::memcpy(&work.beta, beta, sizeof(T));
    if (C == nullptr && work.beta != T(0)) return CUBLAS_STATUS_INVALID_VALUE;
  } else {
    work.alpha_on_device = static_cast<const T*>(alpha);
    work.beta_on_device = static_cast<const T*>(beta);
  }
  if (shape.m == 0 || shape.n == 0 || shape.batch_count == 0) return CUBLAS_STATUS_SUCCESS;
  const cudaError_t e = emu::enqueue(settings.stream, [work] { run_gemm(work); }, call);
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

// cublasSgemm / cublasDgemm and their strided batched forms: T is the data, scale and compute type.
template <class T>
cublasStatus_t typed_gemm(const char* call, cublasHandle_t handle, const GemmShape& shape, const T* alpha,
                          const T* A, const T* B, const T* beta, T* C) {
  cublasContext settings;
  if (!read_settings(handle, call, settings)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_shape(shape) || alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  Precision precision = Precision::fp32;
  cublasStatus_t resolved;
  if constexpr (std::is_same_v<T, float>)
    resolved = single_precision(call, settings.math_mode, CUBLAS_COMPUTE_32F, precision);
  else
    resolved = double_precision(call, settings.math_mode, CUBLAS_COMPUTE_64F, precision);
  if (resolved != CUBLAS_STATUS_SUCCESS) return resolved;
  return launch_gemm<T>(call, settings, shape, alpha, A, B, beta, C, precision);
}

// cublasGemmEx / cublasGemmStridedBatchedEx: the types and compute type choose the scalar type.
cublasStatus_t untyped_gemm(const char* call, cublasHandle_t handle, const GemmShape& shape, const void* alpha,
                            const void* A, cudaDataType_t a_type, const void* B, cudaDataType_t b_type,
                            const void* beta, void* C, cudaDataType_t c_type, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo) {
  cublasContext settings;
  if (!read_settings(handle, call, settings)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_shape(shape) || alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (!known_data_type(a_type) || !known_data_type(b_type) || !known_data_type(c_type) ||
      !known_compute_type(compute) || !known_algorithm(algo))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (a_type != b_type || !cublas_lists(compute, a_type, c_type)) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (algo == CUBLAS_GEMM_AUTOTUNE) return not_modelled(call, "CUBLAS_GEMM_AUTOTUNE (benchmarked algorithm choice)");
  Precision precision = Precision::fp32;
  if (is_double_compute(compute)) {
    if (a_type != CUDA_R_64F) return not_modelled(call, "a complex double GEMM");
    const cublasStatus_t resolved = double_precision(call, settings.math_mode, compute, precision);
    if (resolved != CUBLAS_STATUS_SUCCESS) return resolved;
    return launch_gemm<double>(call, settings, shape, alpha, A, B, beta, C, precision);
  }
  if (a_type != CUDA_R_32F || c_type != CUDA_R_32F)
    return not_modelled(call, "data types other than CUDA_R_32F with " + std::string(compute_type_name(compute)));
  const cublasStatus_t resolved = single_precision(call, settings.math_mode, compute, precision);
  if (resolved != CUBLAS_STATUS_SUCCESS) return resolved;
  return launch_gemm<float>(call, settings, shape, alpha, A, B, beta, C, precision);
}

GemmShape shape_of(cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, int lda, int ldb, int ldc,
                   long long stride_a = 0, long long stride_b = 0, long long stride_c = 0, int batch_count = 1) {
  return {transa, transb, m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c, batch_count};
}

}  // namespace

// ---- helper functions ------------------------------------------------------------------------------------

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  emu::announce();
  auto* context = new cublasContext;
  std::lock_guard lock(registry().mutex);
  registry().contexts[context] = true;
  *handle = context;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (live_context(handle, "cublasDestroy") == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  std::lock_guard lock(registry().mutex);
  registry().contexts[handle] = false;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  cublasContext* context = live_context(handle, "cublasSetStream");
  if (context == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!emu::stream_alive(stream)) {
    emu::report("cublasSetStream: stream " + pointer_text(stream) + " was destroyed or never created");
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  std::lock_guard lock(registry().mutex);
  context->stream = stream;
  context->workspace = nullptr;  // documented: setting the stream returns the handle to the default workspace pool
  context->workspace_bytes = 0;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  cublasContext settings;
  if (!read_settings(handle, "cublasGetStream", settings)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = settings.stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, std::size_t workspace_bytes) {
  cublasContext* context = live_context(handle, "cublasSetWorkspace");
  if (context == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0) return CUBLAS_STATUS_INVALID_VALUE;  // documented
  // cuBLAS takes any aligned pointer and size; its kernels would fault on memory that is not the device's.
  if (workspace_bytes > 0 && !emu::is_device_range(workspace, workspace_bytes))
    emu::report("cublasSetWorkspace: workspace (" + pointer_text(workspace) + ", " + std::to_string(workspace_bytes) +
                " bytes) is not inside one device allocation");
  std::lock_guard lock(registry().mutex);
  context->workspace = workspace;
  context->workspace_bytes = workspace_bytes;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  cublasContext* context = live_context(handle, "cublasSetMathMode");
  if (context == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!valid_math_mode(mode)) return CUBLAS_STATUS_INVALID_VALUE;
  std::lock_guard lock(registry().mutex);
  context->math_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  cublasContext settings;
  if (!read_settings(handle, "cublasGetMathMode", settings)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = settings.math_mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  cublasContext* context = live_context(handle, "cublasSetPointerMode");
  if (context == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE) return CUBLAS_STATUS_INVALID_VALUE;
  std::lock_guard lock(registry().mutex);
  context->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode(cublasHandle_t handle, cublasPointerMode_t* mode) {
  cublasContext settings;
  if (!read_settings(handle, "cublasGetPointerMode", settings)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = settings.pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized (no live handle from cublasCreate)";
    case CUBLAS_STATUS_ALLOC_FAILED: return "resource allocation failed inside the library";
    case CUBLAS_STATUS_INVALID_VALUE: return "an unsupported value or parameter was passed to the function";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the function needs a feature the device architecture lacks";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the functionality requested needs a license that could not be checked";
  }
  return "unknown cuBLAS status";
}

// ---- GEMMs -----------------------------------------------------------------------------------------------

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
  return typed_gemm<float>("cublasSgemm", handle, shape_of(transa, transb, m, n, k, lda, ldb, ldc), alpha, A, B,
                           beta, C);
}

cublasStatus_t cublasDgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const double* alpha, const double* A, int lda, const double* B, int ldb,
                           const double* beta, double* C, int ldc) {
  return typed_gemm<double>("cublasDgemm", handle, shape_of(transa, transb, m, n, k, lda, ldb, ldc), alpha, A, B,
                            beta, C);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType_t Atype, int lda, const void* B,
                            cudaDataType_t Btype, int ldb, const void* beta, void* C, cudaDataType_t Ctype, int ldc,
                            cublasComputeType_t compute_type, cublasGemmAlgo_t algo) {
  return untyped_gemm("cublasGemmEx", handle, shape_of(transa, transb, m, n, k, lda, ldb, ldc), alpha, A, Atype, B,
                      Btype, beta, C, Ctype, compute_type, algo);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float* alpha, const float* A, int lda,
                                         long long int strideA, const float* B, int ldb, long long int strideB,
                                         const float* beta, float* C, int ldc, long long int strideC, int batchCount) {
  return typed_gemm<float>("cublasSgemmStridedBatched", handle,
                           shape_of(transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batchCount),
                           alpha, A, B, beta, C);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const double* alpha, const double* A, int lda,
                                         long long int strideA, const double* B, int ldb, long long int strideB,
                                         const double* beta, double* C, int ldc, long long int strideC,
                                         int batchCount) {
  return typed_gemm<double>("cublasDgemmStridedBatched", handle,
                            shape_of(transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batchCount),
                            alpha, A, B, beta, C);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType_t Atype,
                                          int lda, long long int strideA, const void* B, cudaDataType_t Btype, int ldb,
                                          long long int strideB, const void* beta, void* C, cudaDataType_t Ctype,
                                          int ldc, long long int strideC, int batchCount,
                                          cublasComputeType_t compute_type, cublasGemmAlgo_t algo) {
  return untyped_gemm("cublasGemmStridedBatchedEx", handle,
                      shape_of(transa, transb, m, n, k, lda, ldb, ldc, strideA, strideB, strideC, batchCount), alpha,
                      A, Atype, B, Btype, beta, C, Ctype, compute_type, algo);
}
