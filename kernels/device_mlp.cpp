// DeviceMlp<T> (see device_mlp.h): launch sequences of the two paths over the kernels' launchers. Plain C++
// (g++, C++20): the kernels are reached through their host-only launcher headers.
#include "device_mlp.h"

#include "affine.h"
#include "batch_stats.h"
#include "elementwise.h"
#include "jet_ops.h"

namespace jetpinn::cuda {

template <class T>
DeviceMlp<T>::DeviceMlp(Context& ctx, const Mlp<T>& mlp, StreamSetPtr streams)
    : m_ctx(&ctx), m_streams(std::move(streams)), m_params(ctx), m_grads(ctx), m_y(ctx), m_z(ctx), m_h(ctx),
      m_dz(ctx), m_dh(ctx), m_sg(ctx), m_ss1(ctx), m_ss2(ctx) {
  const MlpConfig& c = mlp.config();
  JETPINN_CHECK(!c.modified && c.fourier.empty() && c.uniform(),
                "DeviceMlp runs plain MLPs of equally wide hidden layers only (no modified MLP, no Fourier features); "
                "use the backend seam (Backend / DeviceOps), which takes any widths");
  JETPINN_CHECK(m_streams->size() == 1 || m_streams->num_inputs() == c.inputs,
                "DeviceMlp: the streams are over " << m_streams->num_inputs() << " inputs, the network has " << c.inputs);
  const int depth = static_cast<int>(c.hidden_widths().size());
  m_shape = FusedMlpShape{c.inputs, c.hidden_widths().front(), depth, c.outputs, c.activation, 0};
  m_rules = flatten_unary(*m_streams);
  // The flat layout the kernels assume must be the ParamStore's.
  const ParamStore<T>& ps = mlp.params();
  JETPINN_CHECK(ps.size() == fused_param_count(m_shape), "DeviceMlp: parameter count " << ps.size() << " != "
                                                                                       << fused_param_count(m_shape));
  for (int l = 0; l <= depth; ++l) {
    JETPINN_CHECK(ps.info(2 * l).offset == fused_w_offset(m_shape, l) && ps.info(2 * l + 1).offset == fused_b_offset(m_shape, l),
                  "DeviceMlp: ParamStore layout of layer " << l << " is not the flat order the kernels assume");
  }
  upload_params(mlp);
  m_grads.resize(ps.size(), 1);
  zero_grad();
}

template <class T>
bool DeviceMlp<T>::fused_supported(std::string* why) const {
  return fused_mlp_supported<T>(*m_ctx, m_shape, m_streams->size(), why);
}

template <class T>
void DeviceMlp<T>::upload_params(const Mlp<T>& mlp) {
  m_params.resize(mlp.params().size(), 1);
  m_params.upload_raw(mlp.params().values());
}

template <class T>
void DeviceMlp<T>::download_grads(ParamStore<T>& store) const {
  JETPINN_CHECK(store.size() == m_grads.rows(), "download_grads: store has " << store.size() << " entries, device "
                                                                             << m_grads.rows());
  m_grads.download_raw(store.grads());
}

template <class T>
void DeviceMlp<T>::zero_grad() {
  m_grads.set_zero();
}

template <class T>
Tensor<T> DeviceMlp<T>::input_jet(ConstMatView<T> points, const StreamSet& streams) {
  const Index P = points.rows(), d = points.cols();
  Tensor<T> x(streams.size() * P, d);
  x.set_zero();
  x.block_rows(0, P) = points;
  for (int s = 1; s < streams.size(); ++s) {
    const Stream& st = streams.stream(s);
    if (st.order() == 1 && !st.collapsed()) x.block_rows(s * P, P).col(st.terms[0][0]).setOnes();
  }
  return x;
}

template <class T>
const T* DeviceMlp<T>::layer_input(int l) const {
  return l == 0 ? m_x->data() : m_h.data() + (l - 1) * block();
}
template <class T>
const T* DeviceMlp<T>::layer_adjoint(int l) const {
  return l == m_shape.depth ? m_dy->data() : m_dz.data() + l * block();
}

template <class T>
const DeviceTensor<T>& DeviceMlp<T>::forward(const DeviceTensor<T>& x, MlpPath path) {
  const int S = m_streams->size();
  JETPINN_CHECK(x.cols() == m_shape.inputs && x.rows() % S == 0 && x.rows() > 0,
                "DeviceMlp::forward: input jet must be S*P x " << m_shape.inputs << " with S = " << S << ", got ("
                                                               << x.rows() << " x " << x.cols() << ")");
  m_x = &x;
  m_points = x.rows() / S;
  const std::ptrdiff_t R = x.rows(), W = m_shape.width, L = m_shape.depth;
  m_y.resize(R, m_shape.outputs);
  m_z.resize(L * R, W);
  m_h.resize(L * R, W);
  const T* p = m_params.data();
  if (path == MlpPath::Fused) {
    fused_mlp_forward<T>(*m_ctx, m_shape, m_rules, m_points, p, x.data(), m_y.data(), m_z.data(), m_h.data());
    return m_y;
  }
  for (int l = 0; l < L; ++l) {
    T* zl = m_z.data() + l * block();
    affine_forward<T>(*m_ctx, R, m_points, layer_in_dim(l), W, layer_input(l), p + fused_w_offset(m_shape, l),
                      p + fused_b_offset(m_shape, l), zl);
    unary_jet_forward<T>(*m_ctx, m_rules, m_shape.activation, m_shape.power, m_points * W, zl, m_h.data() + l * block());
  }
  affine_forward<T>(*m_ctx, R, m_points, W, m_shape.outputs, layer_input(static_cast<int>(L)),
                    p + fused_w_offset(m_shape, static_cast<int>(L)), p + fused_b_offset(m_shape, static_cast<int>(L)),
                    m_y.data());
  return m_y;
}

template <class T>
void DeviceMlp<T>::backward(const DeviceTensor<T>& dy, MlpPath path) {
  JETPINN_CHECK(m_x, "DeviceMlp::backward before forward");
  JETPINN_CHECK(dy.rows() == m_y.rows() && dy.cols() == m_y.cols(),
                "DeviceMlp::backward: adjoint must match the output (" << m_y.rows() << " x " << m_y.cols() << "), got ("
                                                                       << dy.rows() << " x " << dy.cols() << ")");
  m_dy = &dy;
  const int L = m_shape.depth;
  const std::ptrdiff_t R = m_y.rows(), W = m_shape.width;
  const T* p = m_params.data();
  T* g = m_grads.data();
  m_dz.resize(L * R, W);
  auto layer_grads = [&](int l, T* dx) {
    affine_backward<T>(*m_ctx, R, m_points, layer_in_dim(l), layer_out_dim(l), layer_input(l), p + fused_w_offset(m_shape, l),
                       layer_adjoint(l), g + fused_w_offset(m_shape, l), g + fused_b_offset(m_shape, l), dx);
  };
  if (path == MlpPath::Fused) {
    fused_mlp_backward<T>(*m_ctx, m_shape, m_rules, m_points, p, dy.data(), m_z.data(), m_h.data(), m_dz.data());
    for (int l = 0; l <= L; ++l) layer_grads(l, nullptr);
    return;
  }
  m_dh.resize(R, W);
  for (int l = L; l >= 0; --l) {
    if (l == 0) {
      layer_grads(0, nullptr);
      break;
    }
    m_dh.set_zero();
    layer_grads(l, m_dh.data());  // dh_{l-1} = adjoint(l) W_l
    T* dzl = m_dz.data() + (l - 1) * block();
    fill<T>(*m_ctx, R * W, T(0), dzl);
    unary_jet_backward<T>(*m_ctx, m_rules, m_shape.activation, m_shape.power, m_points * W, m_z.data() + (l - 1) * block(),
                          m_h.data() + (l - 1) * block(), m_dh.data(), dzl);
  }
}

template <class T>
void DeviceMlp<T>::weight_batch_stats(int layer, const std::vector<std::ptrdiff_t>& offsets, T* G, T* S1, double* S2) {
  JETPINN_CHECK(m_dy, "weight_batch_stats before backward");
  JETPINN_CHECK(layer >= 0 && layer <= m_shape.depth, "weight_batch_stats: layer " << layer << " out of 0.." << m_shape.depth);
  batch_grad_stats<T>(*m_ctx, m_streams->size(), m_points, layer_in_dim(layer), layer_out_dim(layer), layer_adjoint(layer),
                      layer_input(layer), offsets, G, S1, S2);
}

template <class T>
bool DeviceMlp<T>::fused_stats_supported(std::string* why) const {
  return fused_mlp_stats_supported<T>(*m_ctx, m_shape, m_streams->size(), why);
}

template <class T>
void DeviceMlp<T>::backward_stats(const DeviceTensor<T>& dy, const std::vector<std::ptrdiff_t>& offsets, StatsPath stats,
                                  MlpPath path) {
  JETPINN_CHECK(m_x, "DeviceMlp::backward_stats before forward");
  const std::ptrdiff_t n = m_params.rows();
  m_sg.resize(n, 1);
  m_ss1.resize(n, 1);
  m_ss2.resize(n, 1);
  if (stats == StatsPath::Separate) {
    backward(dy, path);
    for (int l = 0; l <= m_shape.depth; ++l) {
      const std::ptrdiff_t w = fused_w_offset(m_shape, l), b = fused_b_offset(m_shape, l);
      weight_batch_stats(l, offsets, m_sg.data() + w, m_ss1.data() + w, m_ss2.data() + w);
      batch_bias_stats<T>(*m_ctx, m_points, layer_out_dim(l), layer_adjoint(l), offsets, m_sg.data() + b,
                          m_ss1.data() + b, m_ss2.data() + b);
    }
    return;
  }
  JETPINN_CHECK(dy.rows() == m_y.rows() && dy.cols() == m_y.cols(),
                "DeviceMlp::backward_stats: adjoint must match the output (" << m_y.rows() << " x " << m_y.cols()
                                                                             << "), got (" << dy.rows() << " x "
                                                                             << dy.cols() << ")");
  m_dy = &dy;
  m_dz.resize(m_shape.depth * m_y.rows(), m_shape.width);
  fused_mlp_backward_stats<T>(*m_ctx, m_shape, m_rules, m_points, m_params.data(), m_x->data(), dy.data(), m_z.data(),
                              m_h.data(), m_dz.data(), offsets, m_sg.data(), m_ss1.data(), m_ss2.data());
  axpy<T>(*m_ctx, n, T(1), m_sg.data(), m_grads.data());  // grads() += G, as backward() accumulates
}

template class DeviceMlp<float>;
template class DeviceMlp<double>;

}  // namespace jetpinn::cuda
