// StreamSet structure: closure under lower derivatives (sub-multisets only), canonical order, names, describe(),
// lookups, and the shape of the symbolic chain-rule programs (Faa di Bruno / Leibniz, folded Laplacians).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "streams.h"

using jetpinn::MultiIndex;
using jetpinn::RuleTerm;
using jetpinn::StreamSet;

namespace {

std::vector<std::string> names(const StreamSet& s) {
  std::vector<std::string> out;
  for (int i = 0; i < s.size(); ++i) out.push_back(s.stream(i).name);
  return out;
}

// coef sums of a program's terms keyed by (k, sorted factors): a readable fingerprint of a chain rule.
std::map<std::pair<int, std::vector<int>>, double> fingerprint(const std::vector<RuleTerm>& terms, bool unary) {
  std::map<std::pair<int, std::vector<int>>, double> out;
  for (const RuleTerm& t : terms) {
    std::vector<int> f(t.factor, t.factor + t.nf);
    if (unary) std::sort(f.begin(), f.end());
    out[{t.k, f}] += t.coef;
  }
  return out;
}

}  // namespace

TEST_CASE("core: StreamSet closure of a third-order mixed request is its sub-multisets") {
  auto s = StreamSet::make({"t", "x"}, {"txx"});
  // txx -> t, x, tx, xx (no tt: t appears once in txx).
  CHECK(names(*s) == std::vector<std::string>{"", "t", "x", "tx", "xx", "txx"});
  CHECK(s->describe() == "u, u_t, u_x, u_tx, u_xx, u_txx (inputs t x)");
  CHECK(s->size() == 6);
  CHECK(s->num_inputs() == 2);
  CHECK(s->max_order() == 3);
  CHECK(s->find("tt") == -1);
  CHECK(s->find("ttx") == -1);
  CHECK(s->find("xxx") == -1);
  // Lookups ignore the order of letters and accept "u" / "" for the value.
  CHECK(s->index("xt") == s->index("tx"));
  CHECK(s->index("xxt") == s->index("txx"));
  CHECK(s->index("xtx") == 5);
  CHECK(s->index("u") == 0);
  CHECK(s->index("") == 0);
  CHECK(s->stream(s->index("txx")).terms == std::vector<MultiIndex>{{0, 1, 1}});
  CHECK_FALSE(s->stream(5).collapsed());
  CHECK(s->stream(5).order() == 3);
}

TEST_CASE("core: StreamSet closure of xxx, xy and repeated requests") {
  auto s = StreamSet::make({"x", "y"}, {"xxx", "xy", "x", "xxx", "u", ""});
  CHECK(s->describe() == "u, u_x, u_y, u_xx, u_xy, u_xxx (inputs x y)");
  auto v = StreamSet::make({"x", "y"}, {"xxy"});
  CHECK(v->describe() == "u, u_x, u_y, u_xx, u_xy, u_xxy (inputs x y)");
  auto full = StreamSet::make({"x", "y"}, {"xxx", "xxy", "xyy", "yyy"});
  CHECK(full->size() == 10);  // 1 + 2 + 3 + 4
  CHECK(full->describe() == "u, u_x, u_y, u_xx, u_xy, u_yy, u_xxx, u_xxy, u_xyy, u_yyy (inputs x y)");
}

TEST_CASE("core: StreamSet collapsed Laplacian streams lap, lap_x, lap_y, lap_t") {
  auto s = StreamSet::make({"x", "y"}, {"lap_x", "lap_y"}, {"x", "y"});
  CHECK(s->describe() == "u, u_x, u_y, u_xx, u_xy, u_yy, u_lap, u_lap_x, u_lap_y (inputs x y)");
  const auto& lap = s->stream(s->index("lap"));
  CHECK(lap.collapsed());
  CHECK(lap.order() == 2);
  CHECK(lap.terms == std::vector<MultiIndex>{{0, 0}, {1, 1}});
  CHECK(s->stream(s->index("lap_x")).terms == std::vector<MultiIndex>{{0, 0, 0}, {0, 1, 1}});
  CHECK(s->stream(s->index("lap_y")).terms == std::vector<MultiIndex>{{0, 0, 1}, {1, 1, 1}});
  CHECK(s->find("xxx") == -1);  // collapsed streams do not pull in their pure terms
  CHECK(s->find("lap_z") == -1);

  // lap alone needs only the first derivatives besides itself.
  auto l = StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});
  CHECK(l->describe() == "u, u_x, u_y, u_lap (inputs x y)");

  // Time derivative of a spatial Laplacian: t is not among the Laplacian's inputs.
  auto t = StreamSet::make({"t", "x", "y"}, {"t", "lap", "lap_t"}, {"x", "y"});
  CHECK(t->describe() == "u, u_t, u_x, u_y, u_tx, u_ty, u_lap, u_lap_t (inputs t x y)");
  CHECK(t->stream(t->index("lap_t")).terms == std::vector<MultiIndex>{{0, 1, 1}, {0, 2, 2}});

  // A one-input "Laplacian" is the pure second derivative, found by either name.
  auto one = StreamSet::make({"x", "y"}, {"lap"}, {"x"});
  CHECK(one->size() == 3);
  CHECK(one->index("lap") == one->index("xx"));
  CHECK_FALSE(one->stream(one->index("lap")).collapsed());

  // Pure streams next to the collapsed ones stay separate streams.
  auto both = StreamSet::make({"x", "y"}, {"xx", "yy", "lap"}, {"x", "y"});
  CHECK(both->describe() == "u, u_x, u_y, u_xx, u_yy, u_lap (inputs x y)");
}

TEST_CASE("core: StreamSet names with multi-letter inputs and the value-only set") {
  auto s = StreamSet::make({"x1", "x2"}, {"x1,x1,x2"});
  CHECK(s->describe() == "u, u_x1, u_x2, u_x1,x1, u_x1,x2, u_x1,x1,x2 (inputs x1 x2)");
  CHECK(s->index("x2,x1,x1") == s->size() - 1);
  CHECK(s->find("x1,x2,x2") == -1);
  // A multi-letter input by its full name: first derivatives, Laplacian inputs and lap_<input>.
  auto m = StreamSet::make({"x1", "x2"}, {"x1", "lap_x1"}, {"x1", "x2"});
  CHECK(m->describe() == "u, u_x1, u_x2, u_x1,x1, u_x1,x2, u_lap, u_lap_x1 (inputs x1 x2)");
  CHECK(m->stream(m->index("lap")).terms == std::vector<MultiIndex>{{0, 0}, {1, 1}});
  CHECK(m->stream(m->index("lap_x1")).terms == std::vector<MultiIndex>{{0, 0, 0}, {0, 1, 1}});
  CHECK(m->index("x1") == 1);
  CHECK(StreamSet::make({"x1", "x2"}, {"x2"})->describe() == "u, u_x2 (inputs x1 x2)");
  auto v = StreamSet::value_only();
  CHECK(v->size() == 1);
  CHECK(v->describe() == "u");
  CHECK(v->max_order() == 0);
  CHECK(StreamSet::value_only().get() == v.get());
}

TEST_CASE("core: StreamSet chain-rule programs (Faa di Bruno, Leibniz, folded Laplacian)") {
  auto s = StreamSet::make({"x", "y"}, {"xxx", "lap"}, {"x", "y"});
  const int x = s->index("x"), y = s->index("y"), xx = s->index("xx"), xxx = s->index("xxx"),
            lap = s->index("lap");
  using FP = std::map<std::pair<int, std::vector<int>>, double>;
  // y = f(u): y_xxx = f' u_xxx + 3 f'' u_x u_xx + f''' u_x^3.
  CHECK(fingerprint(s->unary_program()[static_cast<std::size_t>(xxx)], true) ==
        FP{{{1, {xxx}}, 1.0}, {{2, {x, xx}}, 3.0}, {{3, {x, x, x}}, 1.0}});
  // y = f(u): y_lap = f' u_lap + f'' (u_x^2 + u_y^2), no pure second derivatives needed.
  CHECK(fingerprint(s->unary_program()[static_cast<std::size_t>(lap)], true) ==
        FP{{{1, {lap}}, 1.0}, {{2, {x, x}}, 1.0}, {{2, {y, y}}, 1.0}});
  // y = u v: y_lap = u_lap v + 2 u_x v_x + 2 u_y v_y + u v_lap.
  CHECK(fingerprint(s->product_program()[static_cast<std::size_t>(lap)], false) ==
        FP{{{0, {lap, 0}}, 1.0}, {{0, {0, lap}}, 1.0}, {{0, {x, x}}, 2.0}, {{0, {y, y}}, 2.0}});
  // y = u v: y_xxx = sum over subsets: u_xxx v + 3 u_xx v_x + 3 u_x v_xx + u v_xxx.
  CHECK(fingerprint(s->product_program()[static_cast<std::size_t>(xxx)], false) ==
        FP{{{0, {xxx, 0}}, 1.0}, {{0, {xx, x}}, 3.0}, {{0, {x, xx}}, 3.0}, {{0, {0, xxx}}, 1.0}});
  CHECK(s->max_unary_k() == 3);

  // Every program of a rich set refers only to streams of the set, of lower or equal order.
  auto r = StreamSet::make({"t", "x", "y"}, {"txx", "xyy", "lap_x", "lap_t", "lap_y"}, {"x", "y"});
  for (int i = 1; i < r->size(); ++i) {
    INFO("stream " << r->stream(i).name);
    CHECK_FALSE(r->unary_program()[static_cast<std::size_t>(i)].empty());
    CHECK_FALSE(r->product_program()[static_cast<std::size_t>(i)].empty());
    for (const auto& t : r->unary_program()[static_cast<std::size_t>(i)]) {
      CHECK(t.k >= 1);
      CHECK(t.k <= r->stream(i).order());
      CHECK(t.nf == t.k);
      for (int f = 0; f < t.nf; ++f) {
        CHECK(t.factor[f] >= 1);
        CHECK(r->stream(t.factor[f]).order() <= r->stream(i).order());
      }
    }
    for (const auto& t : r->product_program()[static_cast<std::size_t>(i)]) {
      CHECK(t.nf == 2);
      CHECK(r->stream(t.factor[0]).order() + r->stream(t.factor[1]).order() == r->stream(i).order());
    }
  }
}
