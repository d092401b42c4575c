// The batch-aligned chunking of the fused statistics kernel (kernels/batch_stats_rule.h: batch_chunk_count,
// locate_chunk, combine_chunk_partials) on the CPU: every point lies in exactly one chunk, no tile or chunk
// straddles a batch, chunks run batch by batch; combining per-chunk partials equals combining the per-batch sums.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "batch_stats_rule.h"

using namespace jetpinn::cuda;

TEST_CASE("fused statistics: chunks tile each batch exactly, in batch order") {
  for (auto [P, B] : {std::pair<Index, int>{37, 5}, {100, 100}, {1000, 13}, {1, 1}, {25600, 100}, {129, 1}}) {
    const std::vector<Index> off = even_batches(P, B);
    for (int TP : {1, 4, 16}) {
      for (int CT : {1, 3, 8}) {
        Index chunks = 0;
        for (int b = 0; b < B; ++b) chunks += batch_chunk_count(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)], TP, CT);
        std::vector<int> hits(static_cast<std::size_t>(P), 0);
        int last_b = 0;
        for (Index c = 0; c < chunks; ++c) {
          Index p0 = -1, p1 = -1;
          const int b = locate_chunk(off.data(), B, TP, CT, c, p0, p1);
          REQUIRE(b >= 0);
          CHECK(b >= last_b);  // batch by batch
          last_b = b;
          CHECK(p0 >= off[static_cast<std::size_t>(b)]);
          CHECK(p1 <= off[static_cast<std::size_t>(b) + 1]);
          CHECK(p0 < p1);
          CHECK((p0 - off[static_cast<std::size_t>(b)]) % TP == 0);  // tiles start at the batch's own origin
          CHECK(p1 - p0 <= Index(CT) * TP);
          for (Index p = p0; p < p1; ++p) ++hits[static_cast<std::size_t>(p)];
        }
        Index p0, p1;
        CHECK(locate_chunk(off.data(), B, TP, CT, chunks, p0, p1) == -1);
        CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
      }
    }
  }
}

TEST_CASE("fused statistics: combining chunk partials equals combining batch partials") {
  const Index P = 103;
  const int B = 7, TP = 4, CT = 2;
  const std::vector<Index> off = even_batches(P, B);
  Index chunks = 0;
  for (int b = 0; b < B; ++b) chunks += batch_chunk_count(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)], TP, CT);
  const long entries = 11;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> chunk_partial(static_cast<std::size_t>(chunks * entries)), batch_partial(static_cast<std::size_t>(B * entries), 0.0);
  for (Index c = 0; c < chunks; ++c) {
    Index p0, p1;
    const int b = locate_chunk(off.data(), B, TP, CT, c, p0, p1);
    for (long j = 0; j < entries; ++j) {
      const double v = u(rng);
      chunk_partial[static_cast<std::size_t>(c * entries + j)] = v;
      batch_partial[static_cast<std::size_t>(b * entries + j)] += v;
    }
  }
  double cw[B];
  for (int b = 0; b < B; ++b) cw[b] = static_cast<double>(P) / static_cast<double>(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)]);
  for (long j = 0; j < entries; ++j) {
    double G, S1, S2, g, s1, s2;
    combine_chunk_partials<double>(chunk_partial.data(), entries, j, off.data(), B, TP, CT, G, S1, S2);
    combine_batch_partials<double>(batch_partial.data(), entries, j, B, cw, g, s1, s2);
    CHECK(G == doctest::Approx(g).epsilon(1e-14));
    CHECK(S1 == doctest::Approx(s1).epsilon(1e-14));
    CHECK(S2 == doctest::Approx(s2).epsilon(1e-14));
  }
}
