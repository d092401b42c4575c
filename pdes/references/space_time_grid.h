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
    const auto find = [&](const char* name) -> const NpyArray* {
      for (const auto& [n, a] : arrays)
        if (n == name) return &a;
      return nullptr;
    };
    const NpyArray *t = find("t"), *x = find("x"), *u = find("u");
    JETPINN_CHECK(t && x && u && t->shape.size() == 1 && x->shape.size() == 1 &&
                      u->shape == std::vector<std::size_t>({t->data.size(), x->data.size()}),
                  "a space-time grid needs 1-D arrays t (nt) and x (nx) and a 2-D array u (nt, nx)");
    return {t->data, x->data, u->data};
  }
};

}  // namespace jetpinn
