// Small networks and PINN residual losses shared by the core tests (jets of whole MLPs, parameter gradients,
// float32 vs float64). Everything is seeded; networks are 3 hidden layers of 16 tanh units.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "mlp.h"
#include "test_helpers.h"

namespace jt {

enum class Net { Plain, Fourier, Modified, HardBC, Widths };  // Widths: plain, hidden layers of 16, 9 and 5
inline const char* net_name(Net n) {
  switch (n) {
    case Net::Plain: return "plain";
    case Net::Fourier: return "fourier";
    case Net::Modified: return "modified";
    case Net::HardBC: return "hard-bc";
    case Net::Widths: return "widths 16-9-5";
  }
  return "?";
}
inline const std::vector<Net>& all_nets() {
  static const std::vector<Net> n{Net::Plain, Net::Fourier, Net::Modified, Net::HardBC, Net::Widths};
  return n;
}

struct NetSpec {
  int inputs = 2, outputs = 1;
  int periodic_input = 0;     // Fourier networks: this input becomes cos/sin features
  double half_period = 1.0;   // L: period 2L
  int modes = 3;              // highest frequency 3 pi / L
  std::vector<int> bc_cols;   // hard BC: out = prod_c (x_c^2 - 1) * N(x)
};

// Finite-difference step scales per input of a network (see FdPlan): a Fourier network oscillates up to
// w = modes * pi / L along its periodic input, so the steps there are scaled by 1 / w (with an unscaled step
// the 4th-order truncation error reaches (h w)^4 ~ 1e-4 of the third derivatives). Other inputs: 1 (Glorot
// weights give O(1) variation per unit of input).
inline std::vector<double> fd_lengths(Net kind, const NetSpec& spec) {
  std::vector<double> l(static_cast<std::size_t>(spec.inputs), 1.0);
  if (kind == Net::Fourier) l[static_cast<std::size_t>(spec.periodic_input)] = spec.half_period / (spec.modes * M_PI);
  return l;
}

// prod_c (x_c^2 - 1): zero on the faces x_c = +-1, carried as a jet.
template <class T>
typename jetpinn::Mlp<T>::Transform box_factor(std::vector<int> cols) {
  return [cols](jetpinn::Var<T> x) {
    jetpinn::Var<T> g;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      jetpinn::Var<T> c = x.col(cols[i]);
      jetpinn::Var<T> f = c * c - 1.0;
      g = i == 0 ? f : g * f;
    }
    return g;
  };
}

// Biases start at zero in Mlp; give them small random values so the bias path is exercised like any weight.
template <class T>
void randomize_biases(jetpinn::Mlp<T>& net, std::uint64_t seed) {
  jetpinn::Rng rng(seed);
  auto& ps = net.params();
  for (int i = 0; i < ps.count(); ++i)
    if (ps.info(i).is_bias)
      for (jetpinn::Index k = 0; k < ps.info(i).size(); ++k) ps.values()[ps.info(i).offset + k] = T(0.2 * rng.normal());
}

template <class T>
jetpinn::Mlp<T> make_net(Net kind, const NetSpec& spec, std::uint64_t seed) {
  jetpinn::MlpConfig cfg;
  cfg.inputs = spec.inputs;
  cfg.outputs = spec.outputs;
  cfg.depth = 3;
  cfg.width = 16;
  if (kind == Net::Widths) cfg.widths = {16, 9, 5};
  cfg.activation = jetpinn::Activation::Tanh;
  cfg.modified = kind == Net::Modified;
  if (kind == Net::Fourier) cfg.fourier = {{spec.periodic_input, spec.half_period, spec.modes}};
  jetpinn::Mlp<T> net(cfg, seed);
  randomize_biases(net, seed + 1000);
  if (kind == Net::HardBC) net.set_output_transform(box_factor<T>(spec.bc_cols), {});
  return net;
}

// Rounds a float64 network's parameters to float32-representable values, so a float32 copy holds the very
// same weights.
inline void round_params_to_float(jetpinn::Mlp<double>& net) {
  for (Index i = 0; i < net.params().size(); ++i)
    net.params().values()[i] = static_cast<double>(static_cast<float>(net.params().values()[i]));
}
inline Mat round_to_float(const Mat& m) { return m.cast<float>().cast<double>(); }

// ------------------------------------------------------------------------------------------- residual losses

// Points of one problem (float64; cast to T when recorded).
struct ProblemData {
  Mat interior, initial;
};

// Allen-Cahn: inputs (t, x); mean((u_t - 1e-4 u_xx + 5u^3 - 5u)^2) + mean((u - x^2 cos(pi x))^2 at t = 0).
struct AllenCahn {
  static constexpr const char* name = "allen-cahn";
  static NetSpec spec() {
    NetSpec s;
    s.inputs = 2;
    s.periodic_input = 1;  // periodic in x
    s.bc_cols = {1};       // u(t, +-1) = 0
    return s;
  }
  static ProblemData data(std::uint64_t seed) {
    jetpinn::Rng rng(seed);
    ProblemData d;
    d.interior = random_points(rng, 10, {{0.0, 1.0}, {-1.0, 1.0}});
    d.initial = random_points(rng, 6, {{0.0, 0.0}, {-1.0, 1.0}});
    return d;
  }
  static StreamSetPtr streams() {
    static auto s = StreamSet::make({"t", "x"}, {"t", "xx"});
    return s;
  }
  template <class T>
  static jetpinn::Var<T> loss(jetpinn::Tape<T>& tape, const jetpinn::Mlp<T>& net, const ProblemData& d) {
    using jetpinn::RowMat;
    using jetpinn::Var;
    Var<T> u = net.forward(tape, tape.input(RowMat<T>(d.interior.cast<T>()), streams()));
    Var<T> v = u.d("");
    Var<T> r = u.d("t") - 1e-4 * u.d("xx") + 5.0 * pow(v, 3) - 5.0 * v;
    Var<T> u0 = net.forward(tape, tape.input(RowMat<T>(d.initial.cast<T>()), StreamSet::value_only()));
    RowMat<T> g(d.initial.rows(), 1);
    for (Index i = 0; i < g.rows(); ++i) {
      const double x = d.initial(i, 1);
      g(i, 0) = T(x * x * std::cos(M_PI * x));
    }
    Var<T> e = u0 - tape.constant(g);
    return mean(r * r) + mean(e * e);
  }
};

// Helmholtz: inputs (x, y); mean((lap u + k^2 u - q)^2) through the collapsed "lap" stream,
// q = (k^2 - 5 pi^2) sin(pi x) sin(2 pi y) + x y.
struct Helmholtz {
  static constexpr const char* name = "helmholtz";
  static constexpr double k = 3.0;
  static NetSpec spec() {
    NetSpec s;
    s.inputs = 2;
    s.periodic_input = 0;
    s.bc_cols = {0, 1};
    return s;
  }
  static ProblemData data(std::uint64_t seed) {
    jetpinn::Rng rng(seed);
    ProblemData d;
    d.interior = random_points(rng, 12, {{-1.0, 1.0}, {-1.0, 1.0}});
    return d;
  }
  static StreamSetPtr streams() {
    static auto s = StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});
    return s;
  }
  template <class T>
  static jetpinn::Var<T> loss(jetpinn::Tape<T>& tape, const jetpinn::Mlp<T>& net, const ProblemData& d) {
    using jetpinn::RowMat;
    using jetpinn::Var;
    Var<T> u = net.forward(tape, tape.input(RowMat<T>(d.interior.cast<T>()), streams()));
    RowMat<T> q(d.interior.rows(), 1);
    for (Index i = 0; i < q.rows(); ++i) {
      const double x = d.interior(i, 0), y = d.interior(i, 1);
      q(i, 0) = T((k * k - 5 * M_PI * M_PI) * std::sin(M_PI * x) * std::sin(2 * M_PI * y) + x * y);
    }
    Var<T> r = u.d("lap") + (k * k) * u.d("") - tape.constant(q);
    return mean(r * r);
  }
};

// Steady Navier-Stokes in stream-function form: outputs (psi, p), u = psi_y, v = -psi_x;
//   r1 = u u_x + v u_y + p_x - (1/Re) lap u,  r2 = u v_x + v v_y + p_y - (1/Re) lap v,
// with lap u = d_y lap psi = psi_lap_y and lap v = -psi_lap_x (third derivatives through collapsed streams).
// Re = 2 keeps the viscous (third-derivative) terms as large as the convective ones, so their gradient path
// weighs in the check.
struct NavierStokes {
  static constexpr const char* name = "navier-stokes";
  static constexpr double Re = 2.0;
  static NetSpec spec() {
    NetSpec s;
    s.inputs = 2;
    s.outputs = 2;
    s.periodic_input = 0;
    s.bc_cols = {0, 1};
    return s;
  }
  static ProblemData data(std::uint64_t seed) {
    jetpinn::Rng rng(seed);
    ProblemData d;
    d.interior = random_points(rng, 12, {{-1.0, 1.0}, {-1.0, 1.0}});
    return d;
  }
  static StreamSetPtr streams() {
    static auto s = StreamSet::make({"x", "y"}, {"x", "y", "lap_x", "lap_y"}, {"x", "y"});
    return s;
  }
  template <class T>
  static jetpinn::Var<T> loss(jetpinn::Tape<T>& tape, const jetpinn::Mlp<T>& net, const ProblemData& d) {
    using jetpinn::RowMat;
    using jetpinn::Var;
    Var<T> out = net.forward(tape, tape.input(RowMat<T>(d.interior.cast<T>()), streams()));
    Var<T> psi = out.col(0), p = out.col(1);
    Var<T> u = psi.d("y"), v = -psi.d("x");
    Var<T> u_x = psi.d("xy"), u_y = psi.d("yy"), v_x = -psi.d("xx"), v_y = -psi.d("xy");
    Var<T> lap_u = psi.d("lap_y"), lap_v = -psi.d("lap_x");
    Var<T> r1 = u * u_x + v * u_y + p.d("x") - (1.0 / Re) * lap_u;
    Var<T> r2 = u * v_x + v * v_y + p.d("y") - (1.0 / Re) * lap_v;
    return mean(r1 * r1) + mean(r2 * r2);
  }
};

}  // namespace jt
