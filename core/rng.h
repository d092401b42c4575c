// Rng: a seeded, platform-independent random stream (splitmix64 seeding xoshiro256**, Box-Muller normals),
// so the same seed gives the same weights and points bit for bit on every machine and compiler.
#pragma once
#include <cmath>
#include <cstdint>

namespace jetpinn {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }
  void reseed(std::uint64_t seed) {
    for (auto& s : m_s) {  // splitmix64
      seed += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
    m_have_spare = false;
  }
  std::uint64_t next() {  // xoshiro256**
    const std::uint64_t r = rotl(m_s[1] * 5, 7) * 9, t = m_s[1] << 17;
    m_s[2] ^= m_s[0];
    m_s[3] ^= m_s[1];
    m_s[1] ^= m_s[2];
    m_s[0] ^= m_s[3];
    m_s[2] ^= t;
    m_s[3] = rotl(m_s[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    if (m_have_spare) {
      m_have_spare = false;
      return m_spare;
    }
    double u1 = 0;
    while (u1 <= 0) u1 = uniform();
    const double u2 = uniform(), r = std::sqrt(-2.0 * std::log(u1)), th = 2.0 * M_PI * u2;
    m_spare = r * std::sin(th);
    m_have_spare = true;
    return r * std::cos(th);
  }
  // The whole state, for checkpoints.
  struct State {
    std::uint64_t s[4];
    double spare;
    bool have_spare;
  };
  State state() const { return {{m_s[0], m_s[1], m_s[2], m_s[3]}, m_spare, m_have_spare}; }
  void set_state(const State& st) {
    for (int i = 0; i < 4; ++i) m_s[i] = st.s[i];
    m_spare = st.spare;
    m_have_spare = st.have_spare;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t m_s[4] = {};
  double m_spare = 0;
  bool m_have_spare = false;
};

}  // namespace jetpinn
