// Mlp<T>: fully connected networks whose forward pass carries jets.
// Plain:     h_0 = embed(x), h_{l+1} = sigma(W_l h_l + b_l), out = W_L h_L + b_L.
// Fourier:   chosen inputs x with half-period L become cos(k pi x / L), sin(k pi x / L), k = 1..M (exactly
//            periodic in x with period 2L); the other inputs pass through raw.
// Modified:  U = sigma(W_u e + b_u), V = sigma(W_v e + b_v); each hidden output h becomes (1 - h) U + h V.
// Hard BC:   out = g(x) * N(x) + h(x) with user functions g, h of the input jet (they carry jets too).
// Weights Glorot (Xavier) normal from a seeded Rng drawn in float64, biases zero.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tape.h"

namespace jetpinn {

struct FourierInput {
  int input = 0;             // which input column
  double half_period = 1.0;  // L: features are periodic with period 2L
  int modes = 10;            // M
};

struct MlpConfig {
  int inputs = 2;
  int outputs = 1;
  int depth = 6;   // hidden layers, each `width` wide: the shorthand used when `widths` is empty
  int width = 128;
  Activation activation = Activation::Tanh;
  bool modified = false;
  std::vector<FourierInput> fourier;  // empty: raw inputs
  std::vector<int> widths;  // per hidden layer, first to last, e.g. {768, 768, 512, 512}; empty: depth x width
  void validate() const;
  int embedded_width() const;
  std::vector<int> hidden_widths() const;  // `widths`, or `depth` copies of `width`
  bool uniform() const;                    // every hidden layer equally wide (the fused dense stack needs it)
};

Activation parse_activation(const std::string& name);  // "tanh", "sin", ...; throws listing the choices
std::vector<std::string> activation_names();           // the names parse_activation accepts

template <class T>
class Mlp {
 public:
  using Transform = std::function<Var<T>(Var<T> x)>;
  explicit Mlp(MlpConfig config, std::uint64_t seed = 0);
  const MlpConfig& config() const { return m_config; }
  ParamStore<T>& params() { return m_params; }
  const ParamStore<T>& params() const { return m_params; }
  // out = factor(x) * N(x) + offset(x); either may be empty.
  void set_output_transform(Transform factor, Transform offset) {
    m_factor = std::move(factor);
    m_offset = std::move(offset);
  }
  // x: the input jet (points x inputs) on `tape`, whose ParamStore must be this network's. `hidden`, when
  // given, receives each hidden layer's output (after its activation, and after the modified-MLP mixing).
  Var<T> forward(Tape<T>& tape, Var<T> x, std::vector<Var<T>>* hidden = nullptr) const;
  // Re-draw every weight from `seed` (Glorot normal, biases zero).
  void initialize(std::uint64_t seed);
  // Copy parameters from a network of the same shape in another precision.
  template <class U>
  void copy_params_from(const Mlp<U>& other) {
    JETPINN_CHECK(other.params().size() == m_params.size(), "copy_params_from: networks differ in size");
    for (Index i = 0; i < m_params.size(); ++i) m_params.values()[i] = static_cast<T>(other.params().values()[i]);
  }

 private:
  MlpConfig m_config;
  ParamStore<T> m_params;
  std::vector<int> m_w, m_b;  // hidden layers then the output layer
  int m_wu = -1, m_bu = -1, m_wv = -1, m_bv = -1;
  // The whole network as one dense-stack op, when it can be one (plain, equally wide hidden layers).
  DenseStack m_stack;
  bool m_stackable = false;
  RowMat<T> m_fourier_map, m_raw_map;  // fixed linear maps of the embedding
  Transform m_factor, m_offset;
  Var<T> embed(Tape<T>& tape, Var<T> x) const;
  Var<T> output_transform(Tape<T>& tape, Var<T> x, Var<T> out) const;  // the hard-BC factor and offset
};

}  // namespace jetpinn
