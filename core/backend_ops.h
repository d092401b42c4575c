// BackendOps<T>: the primitive operations a training step needs on buffers in one memory space (host or a CUDA
// device). Backend<T> (backend.h) runs the tape, the losses, RBA, Adam, the gradient statistics and
// L-BFGS's vector algebra on nothing but these, so the step's logic is written once: HostOps (host_ops.h) is the
// CPU reference and runs in every test; kernels/device_ops.h implements the same contract with CUDA kernels and
// cuBLAS. All pointers are in the ops' memory unless named `host`. Matrices are row-major; a jet of S streams over
// P points is S*P rows, stream-major (tensor.h). Work is ordered (one stream on the device); only the download_*
// calls wait for it. Nothing here includes CUDA.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <memory>

#include "activations.h"
#include "adam_rule.h"
#include "check.h"
#include "lbfgs_vectors.h"
#include "streams.h"

namespace jetpinn {

// RBA's update rule and the loss over one residual (rba.h): with w = lambda (weighted) or 1,
//   loss = mean((w r)^2) over all P*k entries, mse = mean(r^2);
// and, before them when `update`, per column j: lambda <- gamma lambda + eta |r| / max|r| ("max"), or with
// (|r| - min|r|) / (max|r| - min|r|) ("minmax", when max > min), or lambda = the normalised |r| on the first
// update with init_from_residual. The update and the normalisation are computed in double, lambda stored in T.
struct RbaRule {
  double eta = 1e-3, gamma = 0.999;
  bool minmax = false;
  bool init_from_residual = false;
};

// A plain MLP as one op (Mlp::forward records it on a backend that takes it, and only when every hidden layer is
// equally wide; other networks go layer by layer): `depth` hidden layers of `width` with activation `act`, then
// a linear output layer; parameters flat from the first weight in Mlp's order (layer0.W, layer0.b, layer1.W, ...).
// z and h hold the pre-activations and activations, `depth` blocks of S*P x width, for the reverse sweep.
struct DenseStack {
  int inputs = 2, width = 128, depth = 6, outputs = 1;
  Activation act = Activation::Tanh;
  int power = 0;
};

template <class T>
class BackendOps {
 public:
  using Idx = std::ptrdiff_t;
  virtual ~BackendOps() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda:0 (NVIDIA H100 ...)"

  // Memory. allocate never returns null for n > 0; release takes what allocate gave (null is ignored).
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* p) = 0;
  virtual void upload(void* dst, const void* host, std::size_t bytes) = 0;     // host -> ops memory
  virtual void download(void* host, const void* src, std::size_t bytes) = 0;   // waits for the queued work
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;        // within ops memory
  virtual void synchronize() = 0;

  // Elementwise over n entries.
  virtual void fill(Idx n, T value, T* y) = 0;
  virtual void axpy(Idx n, T alpha, const T* x, T* y) = 0;           // y += alpha x
  virtual void scale(Idx n, T alpha, const T* x, T* y) = 0;          // y = alpha x
  virtual void add(Idx n, const T* a, const T* b, T* y) = 0;         // y = a + b
  virtual void sub(Idx n, const T* a, const T* b, T* y) = 0;         // y = a - b
  virtual void add_constant(Idx n, T c, T* y) = 0;                   // y += c
  // y += factor * s[0] (s: one entry in ops memory): the reverse of sum and mean.
  virtual void add_broadcast(Idx n, const T* s, double factor, T* y) = 0;
  // out[0] = factor * sum x (summed in double, fixed order): sum (factor 1) and mean (1 / n).
  virtual void sum(Idx n, const T* x, double factor, T* out) = 0;
  // Column blocks: dst[r * dst_ld + c] (=, or += with accumulate) src[r * src_ld + c] for r < rows, c < cols.
  virtual void copy_cols(Idx rows, Idx cols, const T* src, Idx src_ld, T* dst, Idx dst_ld, bool accumulate) = 0;
  // y[r][c] += b[c] for r < rows: the bias on the value-stream rows.
  virtual void add_row_vector(Idx rows, Idx cols, const T* b, T* y) = 0;
  // y += x with y in double (the gradient statistics' float64 sums).
  virtual void accumulate_double(Idx n, const T* x, double* y) = 0;

  // Affine maps on all streams in one product (as core/tape.cpp's Op::Affine and Op::LinearConst):
  //   forward   y = x W^T (+ b on the first `points` rows when b is not null)     x: rows x in, W: out x in
  //   backward  dW += dy^T x, db += colsum(dy[0 : points]), dx += dy W            (a null output is skipped)
  virtual void affine_forward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* b, T* y) = 0;
  virtual void affine_backward(Idx rows, Idx points, Idx in, Idx out, const T* x, const T* W, const T* dy, T* dW,
                               T* db, T* dx) = 0;

  // Jet chain rules over n elements of S streams (buffers stream-major, S * n entries), as core/jet_kernels_cpu.h.
  // Backward ones accumulate; a null adjoint skips that input.
  virtual void unary_forward(const StreamSet& s, Activation a, int power, Idx n, const T* x, T* y) = 0;
  virtual void unary_backward(const StreamSet& s, Activation a, int power, Idx n, const T* x, const T* y,
                              const T* dy, T* dx) = 0;
  virtual void product_forward(const StreamSet& s, Idx n, const T* u, const T* v, T* y) = 0;
  virtual void product_backward(const StreamSet& s, Idx n, const T* u, const T* v, const T* dy, T* du, T* dv) = 0;

  // The whole MLP in one pass (a fused kernel on the device where the widths allow; dense_stack_supported says
  // whether this ops takes the shape, else the tape records it layer by layer). Forward: y = the output jet
  // (S*P x outputs) from x (S*P x inputs); backward: dparams += the gradient of every layer's parameters, dx +=
  // the input adjoint (null: not needed); dz: scratch of the same size as z.
  virtual bool dense_stack_supported(const DenseStack& d, const StreamSet& s) {
    (void)d;
    (void)s;
    return false;
  }
  virtual void dense_stack_forward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x, T* y,
                                   T* z, T* h) {
    (void)d, (void)s, (void)P, (void)params, (void)x, (void)y, (void)z, (void)h;
    JETPINN_CHECK(false, name() << ": no fused MLP");
  }
  virtual void dense_stack_backward(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x,
                                    const T* dy, const T* z, const T* h, T* dz, T* dparams, T* dx) {
    (void)d, (void)s, (void)P, (void)params, (void)x, (void)dy, (void)z, (void)h, (void)dz, (void)dparams, (void)dx;
    JETPINN_CHECK(false, name() << ": no fused MLP");
  }

  // dense_stack_backward with the batch-gradient statistics of every stack parameter (grad_stats.h) in the same
  // sweep: dparams += G = sum_b G_b; r += G (double, flat like dparams); then either (batch variant, s1 and s2
  // not null) with c_b = P / n_b, s1 += sum_b c_b G_b, s2 += sum_b (c_b G_b)^2, offsets as affine_batch_stats;
  // or (per-sample variant, sample_sq not null) sample_sq[k] += sum_i |g_i|^2 for the stack's k-th parameter
  // entry (layer0.W, layer0.b, layer1.W, ...; per_sample_sq_norms' definition), offsets any split of the points.
  // dense_stack_stats_supported says whether this ops does the variant for B batches (else the layers are
  // recorded one by one).
  virtual bool dense_stack_stats_supported(const DenseStack& d, const StreamSet& s, int batches, bool per_sample) {
    (void)d, (void)s, (void)batches, (void)per_sample;
    return false;
  }
  virtual void dense_stack_backward_stats(const DenseStack& d, const StreamSet& s, Idx P, const T* params, const T* x,
                                          const T* dy, const T* z, const T* h, T* dz, const std::vector<Idx>& offsets,
                                          T* dparams, double* s1, double* s2, double* r, double* sample_sq, T* dx) {
    (void)d, (void)s, (void)P, (void)params, (void)x, (void)dy, (void)z, (void)h, (void)dz, (void)offsets;
    (void)dparams, (void)s1, (void)s2, (void)r, (void)sample_sq, (void)dx;
    JETPINN_CHECK(false, name() << ": no fused MLP statistics");
  }

  // RBA update (when `update`; `first` marks a run's first update) and the loss of a P x k residual r (see
  // RbaRule). out[0] = loss (in T: the tape's loss node), stats[0] = loss, stats[1] = mse (double). `weighted`:
  // w = lambda, else w = 1 (the multipliers are still updated: they are tracked for the diagnostics).
  virtual void rba_mse_forward(Idx P, Idx k, const T* r, T* lambda, const RbaRule& rule, bool update, bool first,
                               bool weighted, T* out, double* stats) = 0;
  // dr += dloss[0] * 2 w^2 r / (P k).
  virtual void rba_mse_backward(Idx P, Idx k, const T* r, const T* lambda, bool weighted, const T* dloss, T* dr) = 0;

  // Adam over n entries with the scalars read from ops memory (core/adam_rule.h's entry update). Nothing
  // changes when any of guard[0 .. guards) is non-zero (the step's non-finite counts: inside a captured graph
  // the host cannot decide whether to update).
  virtual void adam(Idx n, const AdamStepScalars* s, const double* guard, int guards, T* p, const T* g, T* m,
                    T* v) = 0;
  // out[0] = the number of non-finite entries of x (as a double).
  virtual void count_nonfinite(Idx n, const T* x, double* out) = 0;
  // out[0] = sum x*y (double), out[0] = max |x|: L-BFGS's reductions, left in ops memory.
  virtual void dot(Idx n, const T* x, const T* y, double* out) = 0;
  virtual void max_abs(Idx n, const T* x, double* out) = 0;

  // Batch-gradient statistics of one affine layer (grad_stats.h): dy: S*P x out, a: S*P x in; batches are the
  // point ranges offsets[b] .. offsets[b+1] (host vector, B + 1 entries, 0 .. P); c_b = P / n_b.
  //   G = sum_b G_b (overwritten, T),  s1 += sum_b c_b G_b,  s2 += sum_b (c_b G_b)^2   (s1, s2 double)
  // The bias version takes the value-stream rows of dy: G_b = colsum(dy[offsets[b] : offsets[b+1]]).
  virtual void affine_batch_stats(int S, Idx P, Idx in, Idx out, const T* dy, const T* a,
                                  const std::vector<Idx>& offsets, T* G, double* s1, double* s2) = 0;
  virtual void bias_batch_stats(Idx P, Idx out, const T* dy, const std::vector<Idx>& offsets, T* G, double* s1,
                                double* s2) = 0;
  // Per-sample variant: acc[0] += sum_i |g_i|^2 with g_i = sum_s dy_{s,i}^T a_{s,i} (a null `a`: the bias, whose
  // g_i is the value-stream row dy_{0,i}).
  virtual void per_sample_sq_norms(int S, Idx P, Idx in, Idx out, const T* dy, const T* a, double* acc) = 0;

  // L-BFGS's vector algebra in this memory (lbfgs_vectors.h).
  virtual std::shared_ptr<VectorOps<T>> vector_ops() = 0;

  // CUDA graphs: record the queued work between begin_capture and end_capture once, then launch() replays it.
  // While capturing nothing runs and nothing may be downloaded or allocated. supports_capture() is false where
  // there is no such thing (the host ops emulate it for the tests).
  virtual bool supports_capture() const = 0;
  virtual void begin_capture() = 0;
  virtual void end_capture() = 0;
  virtual void launch() = 0;
  virtual void reset_capture() = 0;
  // Whether launch() would replay the captured work as recorded: false when none is ready, or when memory the
  // recording writes has moved since (the device Context's scratch, grown by a larger op run eagerly).
  virtual bool replayable() const = 0;
};

}  // namespace jetpinn
