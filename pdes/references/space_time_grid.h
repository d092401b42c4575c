// SpaceTimeGrid: a reference solution of a 1-D time-dependent problem sampled on a tensor grid,
// u[t][x] row-major (time first): u[it * x.size() + ix] = u(t[it], x[ix]). Converts to and from the named
// float64 arrays "t" (nt), "x" (nx), "u" (nt, nx) that .npz files and the reference cache hold.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "npy.h"

namespace jetpinn {

struct SpaceTimeGrid {
  std::vector<double> t, x, u;

  double at(std::size_t it, std::size_t ix) const { return u[it * x.size() + ix]; }

  std::vector<std::pair<std::string, NpyArray>> to_arrays() const {
    return {{"t", NpyArray{{t.size()}, t}}, {"x", NpyArray{{x.size()}, x}}, {"u", NpyArray{{t.size(), x.size()}, u}}};
  }

  static SpaceTimeGrid from_arrays(const std::vector<std::pair<std::string, NpyArray>>& arrays) {
    SpaceTimeGrid g;
    bool have_t = false, have_x = false, have_u = false;
    std::vector<std::size_t> u_shape;
    for (const auto& [name, a] : arrays) {
      if (name == "t") g.t = a.data, have_t = a.shape.size() == 1;
      if (name == "x") g.x = a.data, have_x = a.shape.size() == 1;
      if (name == "u") g.u = a.data, u_shape = a.shape, have_u = true;
    }
    JETPINN_CHECK(have_t && have_x && have_u && u_shape == std::vector<std::size_t>({g.t.size(), g.x.size()}),
                  "a space-time grid needs 1-D arrays t (nt) and x (nx) and a 2-D array u (nt, nx)");
    return g;
  }
};

}  // namespace jetpinn
