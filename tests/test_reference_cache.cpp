// Tests of the reference cache: the folder's precedence of environment variables, load-or-compute (computes
// once, then reads; recomputes a damaged entry), key formatting, and cached references equal to direct ones.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "check.h"
#include "references/reference_cache.h"
#include "temp_dir.h"

namespace {

// Sets (or, with nullopt, unsets) an environment variable for one scope and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (m_old) ::setenv(m_name.c_str(), m_old->c_str(), 1);
    else ::unsetenv(m_name.c_str());
  }

 private:
  std::string m_name;
  std::optional<std::string> m_old;
};

jetpinn::NamedArrays small_arrays(double scale) {
  return {{"a", jetpinn::NpyArray{{2, 2}, {scale, 2 * scale, 3 * scale, 4 * scale}}}, {"b", jetpinn::NpyArray{{}, {scale}}}};
}

}  // namespace

TEST_CASE("reference cache: folder from JETPINN_CACHE before XDG_CACHE_HOME before HOME") {
  {
    ScopedEnv a("JETPINN_CACHE", "/tmp/jp-cache"), b("XDG_CACHE_HOME", "/tmp/xdg");
    CHECK(jetpinn::reference_cache_dir() == std::filesystem::path("/tmp/jp-cache"));
  }
  {
    ScopedEnv a("JETPINN_CACHE", std::nullopt), b("XDG_CACHE_HOME", "/tmp/xdg");
    CHECK(jetpinn::reference_cache_dir() == std::filesystem::path("/tmp/xdg/jetpinn"));
  }
  {
    ScopedEnv a("JETPINN_CACHE", ""), b("XDG_CACHE_HOME", std::nullopt), c("HOME", "/tmp/home");
    CHECK(jetpinn::reference_cache_dir() == std::filesystem::path("/tmp/home/.cache/jetpinn"));
  }
}

TEST_CASE("reference cache: keys name the parameters exactly and are file names") {
  const std::string k = jetpinn::reference_key("allen_cahn", {{"eps", 1e-4}, {"dt", 1.0 / 3}});
  CHECK(k == "allen_cahn-v1-eps=0.0001-dt=0.33333333333333331");
  CHECK(k != jetpinn::reference_key("allen_cahn", {{"eps", 1e-4}, {"dt", 1.0 / 3 + 1e-16}}));
  CHECK(jetpinn::reference_key("a/b c", {}) == "a_b_c-v1");
}

TEST_CASE("reference cache: load_or_compute computes once then reads and recomputes a damaged entry") {
  TempDir dir("cache");
  const std::filesystem::path cache = dir.path / "nested" / "cache";  // created on first store
  int calls = 0;
  const auto compute = [&] {
    ++calls;
    return small_arrays(1.5);
  };
  const auto first = jetpinn::load_or_compute(cache, "entry", compute);
  CHECK(calls == 1);
  CHECK(std::filesystem::exists(cache / "entry.npz"));
  const auto second = jetpinn::load_or_compute(cache, "entry", compute);
  CHECK(calls == 1);
  REQUIRE(second.size() == 2);
  CHECK(second[0].first == "a");
  CHECK(second[0].second.data == first[0].second.data);
  CHECK(second[0].second.shape == first[0].second.shape);
  CHECK(second[1].second.data == std::vector<double>{1.5});

  jetpinn::load_or_compute(cache, "other", compute);  // another key is another entry
  CHECK(calls == 2);

  std::ofstream(cache / "entry.npz", std::ios::binary | std::ios::trunc) << "garbage";
  const auto third = jetpinn::load_or_compute(cache, "entry", compute);
  CHECK(calls == 3);
  CHECK(third[0].second.data == first[0].second.data);
  CHECK(jetpinn::read_npz((cache / "entry.npz").string()).size() == 2);  // replaced by a good file

  {  // the default folder follows JETPINN_CACHE
    ScopedEnv env("JETPINN_CACHE", (dir.path / "env").string());
    jetpinn::load_or_compute("via_env", compute);
    CHECK(std::filesystem::exists(dir.path / "env" / "via_env.npz"));
  }
  CHECK_THROWS_AS(jetpinn::load_or_compute(cache, "a/b", compute), jetpinn::Error);
}

TEST_CASE("reference cache: cached references equal the direct computation") {
  TempDir dir("cache");
  const auto direct = jetpinn::BurgersReference().classic_grid();
  const auto computed = jetpinn::cached_burgers_classic_grid({}, dir.path);  // miss: computes and stores
  const auto loaded = jetpinn::cached_burgers_classic_grid({}, dir.path);    // hit: reads
  CHECK(computed.u == direct.u);
  CHECK(loaded.u == direct.u);
  CHECK(loaded.t == direct.t);
  CHECK(loaded.x == direct.x);

  jetpinn::CavityParams p;
  p.n = 16;
  p.coarsest_n = 16;
  const auto cavity = jetpinn::solve_cavity_extrapolated(p);
  jetpinn::cached_cavity_reference(p, dir.path);
  const auto cached = jetpinn::cached_cavity_reference(p, dir.path);
  CHECK(cached.n == 8);  // the extrapolation of 17² and 9² lives on the 9² nodes
  CHECK(cached.richardson_from == 16);
  CHECK(cached.richardson_change == cavity.richardson_change);
  CHECK(cached.corners_subtracted);
  CHECK(cached.u == cavity.u);
  CHECK(cached.psi == cavity.psi);
  CHECK(cached.omega == cavity.omega);
  CHECK(cached.residual_psi == cavity.residual_psi);
  CHECK(cached.u_at(0.5, 0.5) == cavity.u_at(0.5, 0.5));
  // A grid entry must hold t (nt), x (nx) and u (nt, nx).
  CHECK_THROWS_AS(jetpinn::SpaceTimeGrid::from_arrays({{"t", jetpinn::NpyArray{{2}, {0, 1}}},
                                                       {"x", jetpinn::NpyArray{{3}, {0, 1, 2}}},
                                                       {"u", jetpinn::NpyArray{{3, 2}, std::vector<double>(6)}}}),
                  jetpinn::Error);
  CHECK_THROWS_AS(jetpinn::SpaceTimeGrid::from_arrays(small_arrays(1.0)), jetpinn::Error);
  // The cavity key names the scheme (corner subtraction, extrapolation): entries of the older plain solver differ.
  bool scheme_in_key = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    const std::string name = entry.path().filename().string();
    scheme_in_key = scheme_in_key || name.find("-corners=1-richardson=1") != std::string::npos;
  }
  CHECK(scheme_in_key);
  // One entry per reference, nothing else (no temporary files left behind).
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator{}) == 2);
}
