// Mlp construction, initialisation and the jet-carrying forward pass.
#include "mlp.h"

#include "backend.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "rng.h"

namespace jetpinn {

namespace {
std::string widths_text(const std::vector<int>& w) {
  std::string s;
  for (int x : w) s += (s.empty() ? "[" : ", ") + std::to_string(x);
  return s + "]";
}
}  // namespace

void MlpConfig::validate() const {
  JETPINN_CHECK(inputs >= 1, "network inputs must be >= 1, got " << inputs);
  JETPINN_CHECK(outputs >= 1, "network outputs must be >= 1, got " << outputs);
  if (widths.empty()) {
    JETPINN_CHECK(depth >= 1, "network depth (hidden layers) must be >= 1, got " << depth);
    JETPINN_CHECK(width >= 1, "network width must be >= 1, got " << width);
  }
  for (std::size_t l = 0; l < widths.size(); ++l)
    JETPINN_CHECK(widths[l] >= 1, "network widths: hidden layer " << l << " has width " << widths[l] << "; each must be >= 1");
  JETPINN_CHECK(!modified || uniform(), "a modified MLP gates every hidden layer with the same encoders, so its hidden "
                                        "layers must be equally wide; got widths " << widths_text(hidden_widths()));
  for (const auto& f : fourier) {
    JETPINN_CHECK(f.input >= 0 && f.input < inputs, "Fourier input " << f.input << " out of range 0.." << inputs - 1);
    JETPINN_CHECK(f.modes >= 1, "Fourier modes must be >= 1, got " << f.modes);
    JETPINN_CHECK(f.half_period > 0 && std::isfinite(f.half_period),
                  "Fourier half period must be positive, got " << f.half_period);
  }
}

std::vector<int> MlpConfig::hidden_widths() const {
  return widths.empty() ? std::vector<int>(static_cast<std::size_t>(std::max(depth, 0)), width) : widths;
}

bool MlpConfig::uniform() const {
  const std::vector<int> w = hidden_widths();
  return std::adjacent_find(w.begin(), w.end(), std::not_equal_to<>()) == w.end();
}

int MlpConfig::embedded_width() const {
  int w = inputs;
  for (const auto& f : fourier) w += 2 * f.modes - 1;  // the raw column is replaced by 2M features
  return w;
}

namespace {
constexpr Activation HIDDEN_ACTIVATIONS[] = {Activation::Tanh, Activation::Sin, Activation::Cos, Activation::Exp,
                                             Activation::Sigmoid, Activation::Softplus};
}  // namespace

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (Activation a : HIDDEN_ACTIVATIONS) names.emplace_back(activation_name(a));
  return names;
}

Activation parse_activation(const std::string& name) {
  for (Activation a : HIDDEN_ACTIVATIONS)
    if (name == activation_name(a)) return a;
  std::string choices;
  for (const std::string& n : activation_names()) choices += (choices.empty() ? "" : ", ") + n;
  JETPINN_CHECK(false, "unknown activation '" << name << "'; choose one of " << choices);
}

template <class T>
Mlp<T>::Mlp(MlpConfig config, std::uint64_t seed) : m_config(std::move(config)) {
  m_config.validate();
  const std::vector<int> hidden = m_config.hidden_widths();
  const int e = m_config.embedded_width(), W = hidden.front(), L = static_cast<int>(hidden.size());
  if (m_config.modified) {  // equal widths (validate)
    m_wu = m_params.add("encoder_u.W", W, e, false);
    m_bu = m_params.add("encoder_u.b", 1, W, true);
    m_wv = m_params.add("encoder_v.W", W, e, false);
    m_bv = m_params.add("encoder_v.b", 1, W, true);
  }
  for (int l = 0; l <= L; ++l) {
    const int in = l == 0 ? e : hidden[static_cast<std::size_t>(l - 1)];
    const int out = l == L ? m_config.outputs : hidden[static_cast<std::size_t>(l)];
    m_w.push_back(m_params.add("layer" + std::to_string(l) + ".W", out, in, false));
    m_b.push_back(m_params.add("layer" + std::to_string(l) + ".b", 1, out, true));
  }
  m_stack = DenseStack{e, W, L, m_config.outputs, m_config.activation, 0};
  m_stackable = !m_config.modified && m_config.uniform();
  if (!m_config.fourier.empty()) {
    int nf = 0;
    for (const auto& f : m_config.fourier) nf += f.modes;
    m_fourier_map = RowMat<T>::Zero(nf, m_config.inputs);
    int r = 0;
    for (const auto& f : m_config.fourier)
      for (int k = 1; k <= f.modes; ++k) m_fourier_map(r++, f.input) = T(k * M_PI / f.half_period);
    const int raw = m_config.inputs - static_cast<int>(m_config.fourier.size());
    if (raw > 0) {
      m_raw_map = RowMat<T>::Zero(raw, m_config.inputs);
      int c = 0;
      for (int i = 0; i < m_config.inputs; ++i) {
        bool periodic = false;
        for (const auto& f : m_config.fourier) periodic |= f.input == i;
        if (!periodic) m_raw_map(c++, i) = T(1);
      }
    }
  }
  initialize(seed);
}

template <class T>
void Mlp<T>::initialize(std::uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < m_params.count(); ++i) {
    const ParamInfo& p = m_params.info(i);
    auto v = m_params.value(i);
    if (p.is_bias) {
      v.setZero();
      continue;
    }
    const double sd = std::sqrt(2.0 / static_cast<double>(p.rows + p.cols));  // Glorot normal
    for (Index r = 0; r < p.rows; ++r)
      for (Index c = 0; c < p.cols; ++c) v(r, c) = static_cast<T>(sd * rng.normal());
  }
}

template <class T>
Var<T> Mlp<T>::embed(Tape<T>& tape, Var<T> x) const {
  if (m_config.fourier.empty()) return x;
  Var<T> z = tape.linear_const(x, m_fourier_map);
  Var<T> e = concat_cols(cos(z), sin(z));
  if (m_raw_map.rows() > 0) e = concat_cols(e, tape.linear_const(x, m_raw_map));
  return e;
}

template <class T>
Var<T> Mlp<T>::forward(Tape<T>& tape, Var<T> x, std::vector<Var<T>>* hidden) const {
  JETPINN_CHECK(tape.params() == &m_params, "Mlp::forward: the tape must record into this network's ParamStore "
                                            "(Tape tape(&mlp.params()))");
  JETPINN_CHECK(x.cols() == m_config.inputs,
                "network expects " << m_config.inputs << " input columns, got " << x.value().shape());
  const Activation act = m_config.activation;
  Var<T> e = embed(tape, x);
  // On a backend that takes it, a plain network is one op (a fused kernel on the device, with the batch
  // statistics in the same sweep when its layers are batched); not when the hidden layers are asked for, nor
  // when they differ in width (layer by layer then, on any backend).
  const bool fused = tape.backend() && m_stackable && !hidden &&
                     tape.backend()->dense_stack_supported(m_stack, e.streams(), tape.batched());
  if (fused) return output_transform(tape, x, tape.dense_stack(e, m_w.front(), m_stack));
  const int L = m_stack.depth;
  Var<T> u, d;  // modified MLP: U and V - U
  if (m_config.modified) {
    u = tape.unary(tape.affine(e, m_wu, m_bu), act);
    d = tape.unary(tape.affine(e, m_wv, m_bv), act) - u;
  }
  Var<T> h = e;
  for (int l = 0; l < L; ++l) {
    h = tape.unary(tape.affine(h, m_w[static_cast<std::size_t>(l)], m_b[static_cast<std::size_t>(l)]), act);
    if (m_config.modified) h = u + h * d;  // (1 - h) U + h V
    if (hidden) hidden->push_back(h);
  }
  return output_transform(tape, x, tape.affine(h, m_w.back(), m_b.back()));
}

template <class T>
Var<T> Mlp<T>::output_transform(Tape<T>& tape, Var<T> x, Var<T> out) const {
  if (m_factor) {
    Var<T> g = m_factor(x);
    if (g.cols() == 1 && out.cols() > 1)  // one factor for every output column
      g = tape.linear_const(g, RowMat<T>::Ones(out.cols(), 1));
    out = g * out;
  }
  if (m_offset) out = out + m_offset(x);
  return out;
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace jetpinn
