// DeviceOps<T> (see device_ops.h): each BackendOps primitive forwarded to its launcher on the Context's stream.
// Plain C++ (g++, C++20): the kernels are reached through host-only launcher headers; the CUDA runtime is used
// directly only for copies and device properties. Graph capture goes through StepGraph (step_graph.h).
#include "device_ops.h"

#include <cstddef>
#include <cstdio>
#include <type_traits>

#include "adam_device.h"
#include "affine.h"
#include "batch_stats.h"
#include "cuda_check.h"
#include "device_vector_ops.h"
#include "elementwise.h"
#include "fused_mlp.h"
#include "jet_ops.h"
#include "rba_loss.h"
#include "reduce.h"
#include "step_graph.h"
#include "vector_ops.h"

namespace jetpinn::cuda {

namespace {
cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }

// Scratch reserved up front, so the reductions of an ordinary step never grow it (growth while capturing
// invalidates the capture; see device_ops.h).
constexpr std::size_t RESERVED_SCRATCH = std::size_t(1) << 20;

std::string describe_device(int device) {
  cudaDeviceProp p{};
  CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return "cuda:" + std::to_string(device) + " " + p.name + ", sm_" + std::to_string(p.major) + std::to_string(p.minor);
}
}  // namespace

// The graph and the scratch address it was captured with (pimpl: StepGraph stays out of the header).
template <class T>
struct DeviceOps<T>::Capture {
  StepGraph graph;
  void* scratch = nullptr;
  void* gemm_scratch = nullptr;
};

template <class T>
DeviceOps<T>::DeviceOps(int device, GemmMath math)
    : m_owned(std::make_unique<Context>(device, math)), m_ctx(m_owned.get()), m_capture(std::make_unique<Capture>()) {
  m_name = describe_device(m_ctx->device());
  m_ctx->scratch(RESERVED_SCRATCH);
}

template <class T>
DeviceOps<T>::DeviceOps(Context& ctx) : m_ctx(&ctx), m_capture(std::make_unique<Capture>()) {
  m_name = describe_device(m_ctx->device());
  m_ctx->scratch(RESERVED_SCRATCH);
}

template <class T>
DeviceOps<T>::~DeviceOps() {
  try {
    if (m_capture && !m_capture->graph.capturing()) m_capture->graph.reset();  // waits for a replay in flight
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jetpinn: DeviceOps: %s\n", e.what());
  }
  m_capture.reset();  // StepGraph's destructor abandons an open capture
}

template <class T>
void DeviceOps<T>::refuse_while_capturing(const char* what) const {
  JETPINN_CHECK(!m_capture->graph.capturing(), "device ops: " << what << " while capturing a CUDA graph (a captured step "
                                                                         "must not allocate, copy from the host or wait)");
}

namespace {
bool same_program(const RuleProgram& a, const RuleProgram& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t s = 0; s < a.size(); ++s) {
    if (a[s].size() != b[s].size()) return false;
    for (std::size_t i = 0; i < a[s].size(); ++i) {
      const RuleTerm &x = a[s][i], &y = b[s][i];
      if (x.coef != y.coef || x.k != y.k || x.nf != y.nf || x.factor[0] != y.factor[0] ||
          x.factor[1] != y.factor[1] || x.factor[2] != y.factor[2])
        return false;
    }
  }
  return true;
}
}  // namespace

template <class T>
const typename DeviceOps<T>::Rules& DeviceOps<T>::rules_for(const StreamSet& s) {
  auto it = m_rules.find(&s);
  if (it == m_rules.end() || !same_program(it->second->unary_source, s.unary_program()) ||
      !same_program(it->second->product_source, s.product_program())) {
    auto r = std::make_unique<Rules>();
    r->unary_source = s.unary_program();
    r->product_source = s.product_program();
    r->unary = flatten_unary(s);
    r->product = flatten_product(s);
    it = m_rules.insert_or_assign(&s, std::move(r)).first;
  }
  return *it->second;
}

// ---- memory ----

template <class T>
void* DeviceOps<T>::allocate(std::size_t bytes) {
  refuse_while_capturing("allocate");
  return m_ctx->pool().allocate(bytes == 0 ? 1 : bytes);  // never null: the contract's n > 0 and a harmless 0
}
template <class T>
void DeviceOps<T>::release(void* p) {
  m_ctx->pool().deallocate(p);  // stream order keeps queued users of p safe
}
template <class T>
void DeviceOps<T>::upload(void* dst, const void* host, std::size_t bytes) {
  refuse_while_capturing("upload");
  if (bytes == 0) return;
  // Pageable source: returns once the bytes are staged, so `host` may be reused right away.
  CUDA_CHECK(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream_of(*m_ctx)));
}
template <class T>
void DeviceOps<T>::download(void* host, const void* src, std::size_t bytes) {
  refuse_while_capturing("download");
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_of(*m_ctx)));
  m_ctx->synchronize();
}
template <class T>
void DeviceOps<T>::copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  const char *d = static_cast<const char*>(dst), *s = static_cast<const char*>(src);
  JETPINN_CHECK(d + bytes <= s || s + bytes <= d, "device ops: copy between overlapping ranges (" << bytes << " bytes)");
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_of(*m_ctx)));
}
template <class T>
void DeviceOps<T>::synchronize() {
  refuse_while_capturing("synchronize");
  m_ctx->synchronize();
}

// ---- elementwise ----

template <class T>
void DeviceOps<T>::fill(Idx n, T value, T* y) {
  cuda::fill<T>(*m_ctx, n, value, y);
}
template <class T>
void DeviceOps<T>::axpy(Idx n, T alpha, const T* x, T* y) {
  cuda::axpy<T>(*m_ctx, n, alpha, x, y);
}
template <class T>
void DeviceOps<T>::scale(Idx n, T alpha, const T* x, T* y) {
  cuda::scale<T>(*m_ctx, n, alpha, x, y);
}
template <class T>
void DeviceOps<T>::add(Idx n, const T* a, const T* b, T* y) {
  cuda::add<T>(*m_ctx, n, a, b, y);
}
template <class T>
void DeviceOps<T>::sub(Idx n, const T* a, const T* b, T* y) {
  cuda::sub<T>(*m_ctx, n, a, b, y);
}
template <class T>
void DeviceOps<T>::add_constant(Idx n, T c, T* y) {
  cuda::add_constant<T>(*m_ctx, n, c, y);
}
template <class T>
void DeviceOps<T>::add_broadcast(Idx n, const T* s, double factor, T* y) {
  cuda::add_broadcast<T>(*m_ctx, n, s, factor, y);
}
template <class T>
void DeviceOps<T>::sum(Idx n, const T* x, double factor, T* out) {
  cuda::sum_scaled<T>(*m_ctx, n, x, factor, out);
}
template <class T>
void DeviceOps<T>::copy_cols(Idx rows, Idx cols, const T* src, Idx src_ld, T* dst, Idx dst_ld, bool accumulate) {
  cuda::copy_cols<T>(*m_ctx, rows, cols, src, src_ld, dst, dst_ld, accumulate);
}
template <class T>
void DeviceOps<T>::add_row_vector(Idx rows, Idx cols, const T* b, T* y) {
  cuda::add_row_vector<T>(*m_ctx, rows, cols, b, y);
}
template <class T>
void DeviceOps<T>::accumulate_double(Idx n, const T* x, double* y) {
  cuda::accumulate_double<T>(*m_ctx, n, x, y);
}

// ---- affine maps, jets ----

template <class T>
void DeviceOps<T>::affine_forward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* b, T* y) {
  cuda::affine_forward<T>(*m_ctx, rows, points, in, out, x, W, b, y);
}
template <class T>
void DeviceOps<T>::affine_backward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* dy, T* dW,
                                   T* db, T* dx) {
  cuda::affine_backward<T>(*m_ctx, rows, points, in, out, x, W, dy, dW, db, dx);
}

template <class T>
void DeviceOps<T>::unary_forward(const StreamSet& s, Activation a, int power, Idx n, const T* x, T* y) {
  cuda::unary_jet_forward<T>(*m_ctx, rules_for(s).unary, a, power, n, x, y);
}
template <class T>
void DeviceOps<T>::unary_backward(const StreamSet& s, Activation a, int power, Idx n, const T* x, const T* y,
                                  const T* dy, T* dx) {
  if (!dx) return;
  cuda::unary_jet_backward<T>(*m_ctx, rules_for(s).unary, a, power, n, x, y, dy, dx);
}
template <class T>
void DeviceOps<T>::product_forward(const StreamSet& s, Idx n, const T* u, const T* v, T* y) {
  cuda::product_jet_forward<T>(*m_ctx, rules_for(s).product, n, u, v, y);
}
template <class T>
void DeviceOps<T>::product_backward(const StreamSet& s, Idx n, const T* u, const T* v, const T* dy, T* du, T* dv) {
  cuda::product_jet_backward<T>(*m_ctx, rules_for(s).product, n, u, v, dy, du, dv);
}

// ---- loss, optimiser, reductions ----

namespace {
FusedMlpShape fused_shape(const DenseStack& d) {
  FusedMlpShape s;
  s.inputs = d.inputs;
  s.width = d.width;
  s.depth = d.depth;
  s.outputs = d.outputs;
  s.activation = d.act;
  s.power = d.power;
  return s;
}
}  // namespace

template <class T>
bool DeviceOps<T>::dense_stack_supported(const DenseStack& d, const StreamSet& s) {
  std::string why;
  return s.size() <= MAX_STREAMS && fused_mlp_supported<T>(*m_ctx, fused_shape(d), s.size(), &why);
}

template <class T>
void DeviceOps<T>::dense_stack_forward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x,
                                       T* y, T* z, T* h) {
  fused_mlp_forward<T>(*m_ctx, fused_shape(d), rules_for(s).unary, P, params, x, y, z, h);
}

// The fused sweep gives every dz_l; the parameter gradients dW_l = dz_l^T h_{l-1} (K = S*P reductions) and the
// input adjoint go to cuBLAS, as DeviceMlp::backward does.
template <class T>
void DeviceOps<T>::dense_stack_backward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x,
                                        const T* dy, const T* z, const T* h, T* dz, T* dparams, T* dx) {
  const FusedMlpShape shape = fused_shape(d);
  fused_mlp_backward<T>(*m_ctx, shape, rules_for(s).unary, P, params, dy, z, h, dz);
  const Idx rows = s.size() * P, blk = rows * d.width;
  for (int l = 0; l <= d.depth; ++l) {
    const Idx in = l == 0 ? d.inputs : d.width, out = l == d.depth ? d.outputs : d.width;
    const T* input = l == 0 ? x : h + (l - 1) * blk;
    const T* adjoint = l == d.depth ? dy : dz + l * blk;
    const Idx w = fused_w_offset(shape, l), b = fused_b_offset(shape, l);
    cuda::affine_backward<T>(*m_ctx, rows, P, in, out, input, params + w, adjoint, dparams + w, dparams + b,
                             l == 0 ? dx : nullptr);
  }
}

template <class T>
bool DeviceOps<T>::dense_stack_stats_supported(const DenseStack& d, const StreamSet& s, int batches, bool per_sample) {
  std::string why;
  (void)per_sample;  // the sweep forms the per-sample norms too
  return batches <= FUSED_STATS_MAX_BATCHES && s.size() <= MAX_STREAMS &&
         fused_mlp_stats_supported<T>(*m_ctx, fused_shape(d), s.size(), &why);
}

// The kernel overwrites G, S1 (T) and S2 (double) over the stack's parameters; the contract accumulates s1, s2
// and r in double and adds G into the gradient. Measurement steps only (never captured): temporaries from the pool.
template <class T>
void DeviceOps<T>::dense_stack_backward_stats(const DenseStack& d, const StreamSet& s, Idx P, const T* params,
                                              const T* x, const T* dy, const T* z, const T* h, T* dz,
                                              const std::vector<Idx>& offsets, T* dparams, double* s1, double* s2,
                                              double* r, double* sample_sq, T* dx) {
  const FusedMlpShape shape = fused_shape(d);
  const Idx n = fused_param_count(shape);
  T* G = static_cast<T*>(allocate(sizeof(T) * static_cast<std::size_t>(n)));
  T* S1 = static_cast<T*>(allocate(sizeof(T) * static_cast<std::size_t>(n)));
  double* S2 = static_cast<double*>(allocate(sizeof(double) * static_cast<std::size_t>(n)));
  const Idx groups = 2 * (static_cast<Idx>(d.depth) + 1);  // layer0.W, layer0.b, layer1.W, ...
  double* sq = sample_sq ? static_cast<double*>(allocate(sizeof(double) * static_cast<std::size_t>(groups))) : nullptr;
  fused_mlp_backward_stats<T>(*m_ctx, shape, rules_for(s).unary, P, params, x, dy, z, h, dz, offsets, G, S1, S2, sq);
  cuda::axpy<T>(*m_ctx, n, T(1), G, dparams);
  accumulate_double(n, G, r);
  if (s1) accumulate_double(n, S1, s1);
  if (s2) cuda::axpy<double>(*m_ctx, n, 1.0, S2, s2);
  if (sq) {
    cuda::axpy<double>(*m_ctx, groups, 1.0, sq, sample_sq);
    release(sq);
  }
  if (dx)  // dx += dz_0 W_0
    cuda::affine_backward<T>(*m_ctx, s.size() * P, P, d.inputs, d.width, x, params + fused_w_offset(shape, 0), dz,
                             nullptr, nullptr, dx);
  release(G);
  release(S1);
  release(S2);
}

template <class T>
void DeviceOps<T>::rba_mse_forward(Idx P, Idx k, const T* r, T* lambda, const RbaRule& rule, bool update, bool first,
                                   bool weighted, T* out, double* stats) {
  RbaParams p;
  p.eta = rule.eta;
  p.gamma = rule.gamma;
  p.minmax = rule.minmax;
  p.init = first && rule.init_from_residual;
  cuda::rba_mse_forward<T>(*m_ctx, P, k, r, lambda, p, update, weighted, out, stats);
}
template <class T>
void DeviceOps<T>::rba_mse_backward(Idx P, Idx k, const T* r, const T* lambda, bool weighted, const T* dloss, T* dr) {
  cuda::rba_mse_backward<T>(*m_ctx, P, k, r, lambda, weighted, dloss, dr);
}

template <class T>
void DeviceOps<T>::adam(Idx n, const AdamStepScalars* s, const double* guard, int guards, T* p, const T* g, T* m,
                        T* v) {
  // A device pointer: only its value is converted here (the layouts are asserted equal above).
  cuda::adam_update<T>(*m_ctx, n, reinterpret_cast<const AdamStepScalars*>(s), guard, guards, p, g, m, v);
}
template <class T>
void DeviceOps<T>::count_nonfinite(Idx n, const T* x, double* out) {
  cuda::count_nonfinite<T>(*m_ctx, n, x, out);
}
template <class T>
void DeviceOps<T>::dot(Idx n, const T* x, const T* y, double* out) {
  cuda::dot<T>(*m_ctx, n, x, y, out);
}
template <class T>
void DeviceOps<T>::max_abs(Idx n, const T* x, double* out) {
  cuda::max_abs<T>(*m_ctx, n, x, out);
}

// ---- gradient statistics ----

template <class T>
void DeviceOps<T>::affine_batch_stats(int S, Idx P, Idx in, Idx out, const T* dy, const T* a,
                                      const std::vector<Idx>& offsets, T* G, double* s1, double* s2) {
  cuda::batch_grad_stats_accumulate<T>(*m_ctx, S, P, in, out, dy, a, offsets, G, s1, s2);
}
template <class T>
void DeviceOps<T>::bias_batch_stats(Idx P, Idx out, const T* dy, const std::vector<Idx>& offsets, T* G, double* s1,
                                    double* s2) {
  cuda::batch_bias_stats_accumulate<T>(*m_ctx, P, out, dy, offsets, G, s1, s2);
}
template <class T>
void DeviceOps<T>::per_sample_sq_norms(int S, Idx P, Idx in, Idx out, const T* dy, const T* a, double* acc) {
  cuda::per_sample_sq_norms_accumulate<T>(*m_ctx, S, P, in, out, dy, a, acc);
}

template <class T>
std::shared_ptr<VectorOps<T>> DeviceOps<T>::vector_ops() {
  return std::make_shared<DeviceVectorOps<T>>(*m_ctx);
}

// ---- CUDA graphs ----

template <class T>
void DeviceOps<T>::begin_capture() {
  refuse_while_capturing("begin_capture");
  m_capture->scratch = m_ctx->scratch(0);  // current blocks, no growth
  m_capture->gemm_scratch = m_ctx->gemm_scratch(0);
  m_capture->graph.begin_capture(*m_ctx);
}
template <class T>
void DeviceOps<T>::end_capture() {
  JETPINN_CHECK(m_capture->graph.capturing(), "device ops: end_capture without begin_capture");
  m_capture->graph.end_capture();
  if (m_ctx->scratch(0) != m_capture->scratch || m_ctx->gemm_scratch(0) != m_capture->gemm_scratch) {
    m_capture->graph.reset();
    JETPINN_CHECK(false, "device ops: the Context's scratch grew while capturing a CUDA graph, so the graph would use "
                         "a freed block; run the step once eagerly before capturing it");
  }
}
template <class T>
bool DeviceOps<T>::replayable() const {
  return m_capture->graph.ready() && m_ctx->scratch(0) == m_capture->scratch &&
         m_ctx->gemm_scratch(0) == m_capture->gemm_scratch;
}
template <class T>
void DeviceOps<T>::launch() {
  refuse_while_capturing("launch");
  JETPINN_CHECK(m_capture->graph.ready(), "device ops: launch before a completed capture");
  JETPINN_CHECK(replayable(), "device ops: the Context's scratch grew since the graph was captured (a larger op ran "
                              "eagerly), so the graph would use a freed block; reset_capture() and capture again");
  m_capture->graph.launch();
}
template <class T>
void DeviceOps<T>::reset_capture() {
  if (m_capture->graph.capturing()) {
    try {
      m_capture->graph.end_capture();  // abandon: the graph is dropped below
    } catch (const Error&) {
      // an invalidated capture: ended all the same, nothing to keep
    }
  }
  m_capture->graph.reset();
}

template <class T>
bool DeviceOps<T>::capturing() const {
  return m_capture->graph.capturing();
}

template <class T>
std::unique_ptr<BackendOps<T>> make_device_ops(int device, GemmMath math) {
  return std::make_unique<DeviceOps<T>>(device, math);
}

template class DeviceOps<float>;
template class DeviceOps<double>;
template std::unique_ptr<BackendOps<float>> make_device_ops<float>(int, GemmMath);
template std::unique_ptr<BackendOps<double>> make_device_ops<double>(int, GemmMath);

}  // namespace jetpinn::cuda
