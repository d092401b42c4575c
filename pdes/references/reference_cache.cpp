// Reference cache (see reference_cache.h): key formatting, the folder, and load-or-compute around .npz files.
#include "reference_cache.h"

#include <cstdio>
#include <cstdlib>

#include "check.h"

namespace jetpinn {

namespace {

// Bump when a solver or an entry's layout changes, so old cache files are no longer found.
constexpr int CACHE_FORMAT_VERSION = 1;

const NpyArray& find_array(const NamedArrays& arrays, const std::string& name, const std::string& key) {
  for (const auto& [n, a] : arrays)
    if (n == name) return a;
  JETPINN_CHECK(false, "reference cache entry " << key << " lacks the array '" << name << "'");
  return arrays.front().second;  // not reached
}

double scalar(const NamedArrays& arrays, const std::string& name, const std::string& key) {
  const NpyArray& a = find_array(arrays, name, key);
  JETPINN_CHECK(a.data.size() == 1, "reference cache entry " << key << ": '" << name << "' should hold one value");
  return a.data[0];
}

NpyArray scalar_array(double v) { return NpyArray{{}, {v}}; }

}  // namespace

std::filesystem::path reference_cache_dir() {
  if (const char* dir = std::getenv("JETPINN_CACHE"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "jetpinn";
  const char* home = std::getenv("HOME");
  JETPINN_CHECK(home && *home, "no cache folder: set JETPINN_CACHE (or XDG_CACHE_HOME or HOME)");
  return std::filesystem::path(home) / ".cache" / "jetpinn";
}

std::string reference_key(const std::string& name, const std::vector<std::pair<std::string, double>>& params) {
  std::string key = name + "-v" + std::to_string(CACHE_FORMAT_VERSION);
  for (const auto& [p, v] : params) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    key += "-" + p + "=" + buf;
  }
  for (char& c : key) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '=' || c == '+' || c == '-';
    if (!keep) c = '_';
  }
  return key;
}

NamedArrays load_or_compute(const std::filesystem::path& dir, const std::string& key,
                            const std::function<NamedArrays()>& compute) {
  JETPINN_CHECK(!key.empty() && key.find('/') == std::string::npos,
                "reference cache key must be a non-empty file name, got '" << key << "'");
  const std::filesystem::path file = dir / (key + ".npz");
  if (std::filesystem::exists(file)) {
    try {
      return read_npz(file.string());
    } catch (const Error&) {
      // A damaged or foreign file: recompute and replace it below.
    }
  }
  NamedArrays arrays = compute();
  std::filesystem::create_directories(dir);
  write_npz(file.string(), arrays);
  return arrays;
}

SpaceTimeGrid cached_allen_cahn_reference(const AllenCahnParams& p, const std::filesystem::path& dir) {
  const std::string key = reference_key("allen_cahn", {{"eps", p.eps},
                                                       {"reaction", p.reaction},
                                                       {"modes", static_cast<double>(p.modes)},
                                                       {"dt", p.dt},
                                                       {"contour", static_cast<double>(p.contour_points)}});
  return SpaceTimeGrid::from_arrays(load_or_compute(dir, key, [&] { return allen_cahn_reference(p).to_arrays(); }));
}

SpaceTimeGrid cached_burgers_classic_grid(const BurgersParams& p, const std::filesystem::path& dir) {
  const std::string key = reference_key("burgers_classic", {{"nu", p.nu}, {"nodes", static_cast<double>(p.quadrature_nodes)}});
  return SpaceTimeGrid::from_arrays(load_or_compute(dir, key, [&] { return BurgersReference(p).classic_grid().to_arrays(); }));
}

CavitySolution cached_cavity_reference(const CavityParams& p, const std::filesystem::path& dir) {
  // "corners" and "richardson" name the scheme, so entries of the plain 257² or 513² solutions are not reused.
  const std::string key = reference_key("cavity", {{"re", p.reynolds},
                                                   {"n", static_cast<double>(p.n)},
                                                   {"coarsest", static_cast<double>(p.coarsest_n)},
                                                   {"tol", p.tolerance},
                                                   {"corners", p.subtract_corners ? 1.0 : 0.0},
                                                   {"richardson", 1.0}});
  const NamedArrays arrays = load_or_compute(dir, key, [&] {
    const CavitySolution s = solve_cavity_extrapolated(p);
    const std::size_t m = static_cast<std::size_t>(s.n) + 1;
    std::vector<double> coord(m);
    for (std::size_t i = 0; i < m; ++i) coord[i] = s.x(static_cast<int>(i));
    return NamedArrays{{"x", NpyArray{{m}, coord}},
                       {"y", NpyArray{{m}, coord}},
                       {"u", NpyArray{{m, m}, s.u}},
                       {"v", NpyArray{{m, m}, s.v}},
                       {"psi", NpyArray{{m, m}, s.psi}},
                       {"omega", NpyArray{{m, m}, s.omega}},
                       {"reynolds", scalar_array(s.reynolds)},
                       {"residual_psi", scalar_array(s.residual_psi)},
                       {"residual_omega", scalar_array(s.residual_omega)},
                       {"seconds", scalar_array(s.seconds)},
                       {"newton_steps", scalar_array(s.newton_steps)},
                       {"factorizations", scalar_array(s.factorizations)},
                       {"total_newton_steps", scalar_array(s.total_newton_steps)},
                       {"corners_subtracted", scalar_array(s.corners_subtracted)},
                       {"richardson_from", scalar_array(s.richardson_from)},
                       {"richardson_change", scalar_array(s.richardson_change)}};
  });
  CavitySolution s;
  const NpyArray& x = find_array(arrays, "x", key);
  JETPINN_CHECK(x.shape.size() == 1 && x.shape[0] >= 2, "reference cache entry " << key << ": bad 'x'");
  s.n = static_cast<int>(x.shape[0]) - 1;
  const std::vector<std::size_t> field_shape{x.shape[0], x.shape[0]};
  for (auto [name, field] : {std::pair{"u", &s.u}, {"v", &s.v}, {"psi", &s.psi}, {"omega", &s.omega}}) {
    const NpyArray& a = find_array(arrays, name, key);
    JETPINN_CHECK(a.shape == field_shape, "reference cache entry " << key << ": '" << name << "' is not (n+1) x (n+1)");
    *field = a.data;
  }
  s.reynolds = scalar(arrays, "reynolds", key);
  s.residual_psi = scalar(arrays, "residual_psi", key);
  s.residual_omega = scalar(arrays, "residual_omega", key);
  s.seconds = scalar(arrays, "seconds", key);
  s.newton_steps = static_cast<int>(scalar(arrays, "newton_steps", key));
  s.factorizations = static_cast<int>(scalar(arrays, "factorizations", key));
  s.total_newton_steps = static_cast<int>(scalar(arrays, "total_newton_steps", key));
  s.corners_subtracted = scalar(arrays, "corners_subtracted", key) != 0.0;
  s.richardson_from = static_cast<int>(scalar(arrays, "richardson_from", key));
  s.richardson_change = scalar(arrays, "richardson_change", key);
  return s;
}

}  // namespace jetpinn
