// DeviceMlp<T>: the host-side driver of a plain jet MLP on the device (tanh or another activation; no Fourier
// features, modified MLP or output transform), used by the device tests and benchmarks (tests/cuda/,
// bench/bench_cuda*.cpp). It holds the parameters and gradients in the flat ParamStore order, runs the forward
// jets at P points (fused kernel or the cuBLAS reference path), keeps z_l, h_l for the reverse sweep, and
// accumulates parameter gradients from a given output adjoint. Training does not go through it: `--backend cuda`
// (Trainer::set_backend) runs the whole step on DeviceOps (device_ops.h) under core/backend.h, Fourier features,
// modified MLP and output transforms included (kernels/README.md, "How the trainer uses it").
// Host-only header (C++20, includes the core).
#pragma once
#include <memory>
#include <vector>

#include "device_tensor.h"
#include "fused_mlp.h"
#include "mlp.h"

namespace jetpinn::cuda {

enum class MlpPath { Fused, Cublas };
// Batch statistics of a reverse sweep: Separate = backward, then per layer batch_grad_stats / batch_bias_stats
// (cuBLAS partials and a combining kernel, a second pass over dz and h); Fused = fused_mlp_backward_stats (the
// G_b formed inside the fused backward; widths <= 128, see fused_mlp_stats_supported).
enum class StatsPath { Separate, Fused };

template <class T>
class DeviceMlp {
 public:
  // Throws (naming what is unsupported) for a network the device path cannot run yet.
  DeviceMlp(Context& ctx, const Mlp<T>& mlp, StreamSetPtr streams);

  const FusedMlpShape& shape() const { return m_shape; }
  const StreamSet& streams() const { return *m_streams; }
  // Whether the fused kernels take this network (else `why`); the cuBLAS path takes any width.
  bool fused_supported(std::string* why = nullptr) const;

  void upload_params(const Mlp<T>& mlp);           // parameter values, host -> device
  void download_grads(ParamStore<T>& store) const;  // device gradients -> store.grads() (overwritten)
  void zero_grad();

  // The input jet of `points` (P x inputs) as Tape::input seeds it (u = x, u_(i) = e_i, higher streams 0).
  static Tensor<T> input_jet(ConstMatView<T> points, const StreamSet& streams);

  // Forward jets; x: S*P x inputs on the device (kept by pointer until backward). Returns y: S*P x outputs.
  const DeviceTensor<T>& forward(const DeviceTensor<T>& x, MlpPath path);
  // Reverse sweep from dy (S*P x outputs; kept by pointer for batch_stats): grads() += dL/dparams.
  void backward(const DeviceTensor<T>& dy, MlpPath path);

  // After backward: batch statistics of layer l's weight (G, S1: out x in, S2 double; see batch_stats.h).
  void weight_batch_stats(int layer, const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2);

  // Reverse sweep with the batch statistics of every parameter entry (weights and biases, flat ParamStore
  // order) over the B batches `offsets` (B + 1 entries from 0 to P): grads() += dL/dparams as backward() does,
  // and stats_g() = that gradient (sum_b G_b), stats_s1() = sum_b c_b G_b, stats_s2() = sum_b (c_b G_b)^2.
  // `path` is the backward used by StatsPath::Separate; StatsPath::Fused is one fused kernel.
  void backward_stats(const DeviceTensor<T>& dy, const std::vector<std::ptrdiff_t>& offsets, StatsPath stats,
                      MlpPath path = MlpPath::Fused);
  bool fused_stats_supported(std::string* why = nullptr) const;
  const DeviceTensor<T>& stats_g() const { return m_sg; }
  const DeviceTensor<T>& stats_s1() const { return m_ss1; }
  const DeviceTensor<double>& stats_s2() const { return m_ss2; }

  DeviceTensor<T>& params() { return m_params; }
  DeviceTensor<T>& grads() { return m_grads; }
  const DeviceTensor<T>& output() const { return m_y; }
  // Saved buffers (depth blocks of S*P x width): pre-activations, activations, pre-activation adjoints.
  const DeviceTensor<T>& z() const { return m_z; }
  const DeviceTensor<T>& h() const { return m_h; }
  const DeviceTensor<T>& dz() const { return m_dz; }

 private:
  Context* m_ctx;
  FusedMlpShape m_shape;
  StreamSetPtr m_streams;
  FlatRules m_rules;
  std::ptrdiff_t m_points = 0;
  const DeviceTensor<T>* m_x = nullptr;
  const DeviceTensor<T>* m_dy = nullptr;
  DeviceTensor<T> m_params, m_grads, m_y, m_z, m_h, m_dz, m_dh;
  DeviceTensor<T> m_sg, m_ss1;
  DeviceTensor<double> m_ss2;
  const T* layer_input(int l) const;   // x for l = 0, else h_{l-1}
  const T* layer_adjoint(int l) const;  // dy for l = depth, else dz_l
  int layer_in_dim(int l) const { return l == 0 ? m_shape.inputs : m_shape.width; }
  int layer_out_dim(int l) const { return l == m_shape.depth ? m_shape.outputs : m_shape.width; }
  std::ptrdiff_t block() const { return std::ptrdiff_t(m_streams->size()) * m_points * m_shape.width; }
};

}  // namespace jetpinn::cuda
