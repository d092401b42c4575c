// Derivative demo (see derivative_demo.h). Finite differences use h = 4e-3 with 4th-order central stencils:
// truncation ~h^4 |f^(5)| ~ 1e-10 and rounding ~eps/h^k (~1e-9 for the third derivative u_xxy), so agreement to
// ~1e-7 relative is expected.
#include "derivative_demo.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "mlp.h"
#include "rng.h"

namespace jetpinn {

double run_derivative_demo(const DemoOptions& opt, std::ostream& out) {
  MlpConfig cfg;
  cfg.inputs = 2;
  cfg.depth = opt.depth;
  cfg.width = opt.width;
  Mlp<double> net(cfg, opt.seed);
  Tape<double> tape(&net.params());
  auto streams = StreamSet::make({"x", "y"}, {"xx", "xy", "yy", "xxy", "lap"}, {"x", "y"});
  Rng rng(opt.seed + 7);
  RowMat<double> pts(opt.points, 2);
  for (Index i = 0; i < pts.rows(); ++i) pts.row(i) << rng.uniform(-1, 1), rng.uniform(-1, 1);
  Var<double> u = net.forward(tape, tape.input(pts, streams));
  const Tensor<double> jets = u.value();

  auto f = [&](double x, double y) {
    tape.reset();
    RowMat<double> p(1, 2);
    p << x, y;
    return net.forward(tape, tape.input(p, StreamSet::value_only())).value()(0, 0);
  };
  const double h = 4e-3;
  // 4th-order central first and second differences along one direction, nested for mixed ones.
  auto d1 = [&](const std::function<double(double)>& g) {
    return (-g(2 * h) + 8 * g(h) - 8 * g(-h) + g(-2 * h)) / (12 * h);
  };
  auto d2 = [&](const std::function<double(double)>& g) {
    return (-g(2 * h) + 16 * g(h) - 30 * g(0) + 16 * g(-h) - g(-2 * h)) / (12 * h * h);
  };
  out << "jetpinn derivative demo: MLP " << cfg.depth << " x " << cfg.width << " tanh, float64, streams "
      << streams->describe() << "\n";
  out << "each quantity: jet value | finite difference | relative difference\n";
  double worst = 0;
  const std::vector<std::string> names = {"", "x", "y", "xx", "xy", "yy", "xxy", "lap"};
  for (Index i = 0; i < pts.rows(); ++i) {
    const double x = pts(i, 0), y = pts(i, 1);
    auto along_x = [&](double yy) { return [&, yy](double dx) { return f(x + dx, yy); }; };
    auto along_y = [&](double xx) { return [&, xx](double dy) { return f(xx, y + dy); }; };
    const double fd_xx = d2(along_x(y)), fd_yy = d2(along_y(x));
    const double fd[] = {f(x, y), d1(along_x(y)), d1(along_y(x)), fd_xx,
                         d1([&](double dy) { return d1(along_x(y + dy)); }), fd_yy,
                         d1([&](double dy) { return d2(along_x(y + dy)); }), fd_xx + fd_yy};
    char buf[160];
    std::snprintf(buf, sizeof buf, "point %ld: (x, y) = (%+.4f, %+.4f)\n", static_cast<long>(i), x, y);
    out << buf;
    for (std::size_t k = 0; k < names.size(); ++k) {
      const double jet = jets(streams->index(names[k]) * pts.rows() + i, 0);
      const double rel = std::abs(jet - fd[k]) / std::max(std::abs(jet), 1e-3);
      worst = std::max(worst, rel);
      std::snprintf(buf, sizeof buf, "  u_%-4s % .12e | % .12e | %.1e\n", names[k].empty() ? "" : names[k].c_str(), jet,
                    fd[k], rel);
      out << buf;
    }
  }
  out << "largest relative difference: " << worst << "\n";
  return worst;
}

}  // namespace jetpinn
