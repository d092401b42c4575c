// A disk cache for reference solutions: each entry is one .npz file of named float64 arrays, named by a key that
// spells out the reference, its parameters and a format version. Folder: $JETPINN_CACHE if set, else
// $XDG_CACHE_HOME/jetpinn, else $HOME/.cache/jetpinn. Files are written atomically (write_npz), so concurrent
// processes computing the same entry at worst both compute it; an unreadable entry is recomputed and replaced.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "allen_cahn_reference.h"
#include "burgers_reference.h"
#include "cavity_reference.h"
#include "npy.h"
#include "space_time_grid.h"

namespace jetpinn {

std::filesystem::path reference_cache_dir();

// "NAME-p1=V1-p2=V2..." with values printed exactly (%.17g) and characters outside [A-Za-z0-9._=+-] replaced by
// '_', so the key is a file name; the format version is part of every key.
std::string reference_key(const std::string& name, const std::vector<std::pair<std::string, double>>& params);

// The arrays stored under `key` in `dir`, or compute()'s result, which is stored there first.
NamedArrays load_or_compute(const std::filesystem::path& dir, const std::string& key,
                            const std::function<NamedArrays()>& compute);
inline NamedArrays load_or_compute(const std::string& key, const std::function<NamedArrays()>& compute) {
  return load_or_compute(reference_cache_dir(), key, compute);
}

// The references through the cache (in `dir`, by default the cache folder above).
SpaceTimeGrid cached_allen_cahn_reference(const AllenCahnParams& params = {},
                                          const std::filesystem::path& dir = reference_cache_dir());
SpaceTimeGrid cached_burgers_classic_grid(const BurgersParams& params = {},
                                          const std::filesystem::path& dir = reference_cache_dir());
// solve_cavity_extrapolated(params): node fields x, y (n/2+1) and u, v, psi, omega ((n/2+1) x (n/2+1), [x][y])
// with the residuals and richardson_change; seconds and Newton counts describe the solve that filled the cache.
CavitySolution cached_cavity_reference(const CavityParams& params = {},
                                       const std::filesystem::path& dir = reference_cache_dir());

}  // namespace jetpinn
