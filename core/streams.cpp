// StreamSet construction: closure under lower derivatives, and the chain-rule programs.
// Programs are generated symbolically: Faa di Bruno over set partitions (unary) and Leibniz over subsets
// (product), per multi-index of each stream, then sums over a collapsed stream's multi-indices are folded
// into that stream (so lap needs only u_x, u_y and lap itself), and the rest resolve to pure streams.
#include "streams.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "check.h"

namespace jetpinn {

namespace {

// A factor while a program is being built: a slot (0: x or u, 1: v) and either a raw multi-index or a stream.
struct Factor {
  int slot = 0;
  int stream = -1;  // >= 0 once folded into a (collapsed) stream
  MultiIndex mi;
  auto operator<=>(const Factor&) const = default;
};
struct Key {
  int k = 0;
  std::vector<Factor> factors;  // kept sorted
  auto operator<=>(const Key&) const = default;
};
using Poly = std::map<Key, double>;

MultiIndex pick(const MultiIndex& m, const std::vector<int>& positions) {
  MultiIndex out;
  for (int p : positions) out.push_back(m[static_cast<std::size_t>(p)]);
  std::sort(out.begin(), out.end());
  return out;
}

// Set partitions of {0..n-1} for n <= 3, as restricted growth strings.
std::vector<std::vector<int>> set_partitions(int n) {
  switch (n) {
    case 1: return {{0}};
    case 2: return {{0, 0}, {0, 1}};
    case 3: return {{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {0, 1, 2}};
    default: JETPINN_CHECK(false, "derivative order must be 1..3, got " << n);
  }
}

void add(Poly& p, Key key, double c) {
  std::sort(key.factors.begin(), key.factors.end());
  p[key] += c;
}

// Fold sum_{m in terms(C)} (rest * D_m) into rest * C wherever all members are present.
void fold_collapsed(Poly& p, int c_index, const Stream& c) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& [key, count] : p) {
      for (std::size_t f = 0; f < key.factors.size(); ++f) {
        const Factor& fac = key.factors[f];
        if (fac.stream >= 0 || std::find(c.terms.begin(), c.terms.end(), fac.mi) == c.terms.end()) continue;
        std::vector<Key> members;
        double c_min = 1e300;
        for (const MultiIndex& m : c.terms) {
          Key other = key;
          other.factors[f].mi = m;
          std::sort(other.factors.begin(), other.factors.end());
          auto it = p.find(other);
          c_min = std::min(c_min, it == p.end() ? 0.0 : it->second);
          members.push_back(other);
        }
        if (c_min <= 0) continue;
        Key folded = key;
        folded.factors[f] = Factor{fac.slot, c_index, {}};
        for (const Key& m : members)
          if ((p[m] -= c_min) == 0) p.erase(m);
        add(p, folded, c_min);
        changed = true;
        break;
      }
      if (changed) break;
    }
  }
}

}  // namespace

std::shared_ptr<const StreamSet> StreamSet::value_only() {
  static const std::shared_ptr<const StreamSet> s = make({}, {});
  return s;
}

int StreamSet::find_terms(const std::vector<MultiIndex>& terms) const {
  for (int s = 0; s < size(); ++s)
    if (m_streams[static_cast<std::size_t>(s)].terms == terms) return s;
  return -1;
}

int StreamSet::add_pure(MultiIndex m) {
  std::sort(m.begin(), m.end());
  JETPINN_CHECK(m.size() <= 3, "derivatives up to third order are supported, got order " << m.size());
  if (int s = find_terms({m}); s >= 0 || m.empty()) return m.empty() ? 0 : s;
  for (std::size_t drop = 0; drop < m.size(); ++drop) {  // closure: every lower derivative too
    MultiIndex lower = m;
    lower.erase(lower.begin() + static_cast<std::ptrdiff_t>(drop));
    add_pure(lower);
  }
  std::string name;
  bool short_names = std::all_of(m_inputs.begin(), m_inputs.end(), [](auto& n) { return n.size() == 1; });
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i && !short_names) name.push_back(',');
    name.append(m_inputs[static_cast<std::size_t>(m[i])]);
  }
  m_streams.push_back({name, {m}});
  return size() - 1;
}

MultiIndex StreamSet::parse_multi_index(const std::string& text) const {
  MultiIndex m;
  auto input_of = [&](const std::string& n) {
    auto it = std::find(m_inputs.begin(), m_inputs.end(), n);
    JETPINN_CHECK(it != m_inputs.end(), "unknown input '" << n << "' in derivative '" << text << "'; inputs are "
                                                          << describe());
    return static_cast<int>(it - m_inputs.begin());
  };
  if (auto it = std::find(m_inputs.begin(), m_inputs.end(), text); it != m_inputs.end())
    return {static_cast<int>(it - m_inputs.begin())};  // one input by its full name ("x1" of inputs x1, x2)
  if (text.find(',') != std::string::npos) {
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ',');) m.push_back(input_of(part));
  } else {
    for (char ch : text) m.push_back(input_of(std::string(1, ch)));
  }
  std::sort(m.begin(), m.end());
  return m;
}

std::shared_ptr<const StreamSet> StreamSet::make(std::vector<std::string> input_names,
                                                 const std::vector<std::string>& requests,
                                                 std::vector<std::string> laplacian_inputs) {
  auto set = std::shared_ptr<StreamSet>(new StreamSet());
  StreamSet& s = *set;
  s.m_inputs = std::move(input_names);
  for (std::size_t i = 0; i < s.m_inputs.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      JETPINN_CHECK(s.m_inputs[i] != s.m_inputs[j], "input name '" << s.m_inputs[i] << "' given twice");
  s.m_streams.push_back({"", {}});
  MultiIndex lap_inputs;
  for (const auto& n : laplacian_inputs) {
    const MultiIndex m = s.parse_multi_index(n);
    JETPINN_CHECK(m.size() == 1, "laplacian_inputs: '" << n << "' must name exactly one input");
    JETPINN_CHECK(std::find(lap_inputs.begin(), lap_inputs.end(), m[0]) == lap_inputs.end(),
                  "laplacian_inputs: input '" << n << "' is given twice");
    lap_inputs.push_back(m[0]);
  }
  std::sort(lap_inputs.begin(), lap_inputs.end());
  auto add_laplacian = [&]() {
    JETPINN_CHECK(!lap_inputs.empty(), "a 'lap' stream needs laplacian_inputs (which inputs the Laplacian sums over)");
    std::vector<MultiIndex> terms;
    for (int i : lap_inputs) {
      s.add_pure({i});
      terms.push_back({i, i});
    }
    if (s.find_terms(terms) < 0) s.m_streams.push_back({"lap", terms});
  };
  for (const std::string& r : requests) {
    if (r.empty() || r == "u") continue;
    if (r == "lap") {
      add_laplacian();
    } else if (r.rfind("lap_", 0) == 0) {
      MultiIndex j = s.parse_multi_index(r.substr(4));
      JETPINN_CHECK(j.size() == 1, "'" << r << "': a Laplacian's derivative takes one input, as in lap_x");
      add_laplacian();
      std::vector<MultiIndex> terms;
      for (int i : lap_inputs) {
        s.add_pure({j[0], i});
        MultiIndex m{j[0], i, i};
        std::sort(m.begin(), m.end());
        terms.push_back(m);
      }
      if (s.find_terms(terms) < 0) s.m_streams.push_back({"lap_" + s.m_inputs[static_cast<std::size_t>(j[0])], terms});
    } else {
      MultiIndex m = s.parse_multi_index(r);
      JETPINN_CHECK(!m.empty() && m.size() <= 3, "derivative '" << r << "' must be of order 1 to 3");
      s.add_pure(m);
    }
  }
  // Canonical order: by derivative order, pure before collapsed, then by multi-index.
  std::stable_sort(s.m_streams.begin() + 1, s.m_streams.end(), [](const Stream& a, const Stream& b) {
    if (a.order() != b.order()) return a.order() < b.order();
    if (a.collapsed() != b.collapsed()) return !a.collapsed();
    return a.terms < b.terms;
  });
  s.build_programs();
  return set;
}

void StreamSet::build_programs() {
  m_unary.assign(m_streams.size(), {});
  m_product.assign(m_streams.size(), {});
  for (std::size_t s = 1; s < m_streams.size(); ++s) {
    Poly unary, product;
    for (const MultiIndex& m : m_streams[s].terms) {
      const int n = static_cast<int>(m.size());
      for (const auto& rgs : set_partitions(n)) {  // Faa di Bruno: one term per set partition
        Key key;
        key.k = *std::max_element(rgs.begin(), rgs.end()) + 1;
        for (int b = 0; b < key.k; ++b) {
          std::vector<int> pos;
          for (int i = 0; i < n; ++i)
            if (rgs[static_cast<std::size_t>(i)] == b) pos.push_back(i);
          key.factors.push_back(Factor{0, -1, pick(m, pos)});
        }
        add(unary, key, 1.0);
      }
      for (int mask = 0; mask < (1 << n); ++mask) {  // Leibniz: one term per subset
        std::vector<int> a, b;
        for (int i = 0; i < n; ++i) ((mask >> i) & 1 ? a : b).push_back(i);
        add(product, Key{0, {Factor{0, -1, pick(m, a)}, Factor{1, -1, pick(m, b)}}}, 1.0);
      }
    }
    for (int c = size() - 1; c >= 1; --c)  // third-order collapsed streams first
      if (m_streams[static_cast<std::size_t>(c)].collapsed()) {
        fold_collapsed(unary, c, m_streams[static_cast<std::size_t>(c)]);
        fold_collapsed(product, c, m_streams[static_cast<std::size_t>(c)]);
      }
    auto resolve = [&](const Poly& p, std::vector<RuleTerm>& out) {
      for (const auto& [key, count] : p) {
        RuleTerm t;
        t.coef = count;
        t.k = key.k;
        t.nf = static_cast<int>(key.factors.size());
        // Product terms keep slot order (u then v); unary factors are interchangeable.
        for (const Factor& f : key.factors) {
          int idx = f.stream >= 0 ? f.stream : (f.mi.empty() ? 0 : find_terms({f.mi}));
          JETPINN_CHECK(idx >= 0, "internal: stream set " << describe() << " is not closed for stream '"
                                                          << m_streams[s].name << "'");
          t.factor[key.k == 0 ? f.slot : &f - key.factors.data()] = idx;
        }
        out.push_back(t);
        m_max_k = std::max(m_max_k, t.k);
      }
    };
    resolve(unary, m_unary[s]);
    resolve(product, m_product[s]);
  }
}

int StreamSet::find(const std::string& request) const {
  if (request.empty() || request == "u") return 0;
  for (int s = 1; s < size(); ++s)
    if (m_streams[static_cast<std::size_t>(s)].name == request) return s;
  if (request.rfind("lap", 0) == 0) return -1;
  MultiIndex m;
  try {
    m = parse_multi_index(request);
  } catch (const Error&) {
    return -1;
  }
  return find_terms({m});
}

int StreamSet::index(const std::string& request) const {
  int s = find(request);
  JETPINN_CHECK(s >= 0, "derivative '" << request << "' is not among this jet's streams: " << describe()
                                       << "; declare it in the term's derivatives (TermSpec::derivatives, or Term::streams)");
  return s;
}

int StreamSet::max_order() const {
  int o = 0;
  for (const auto& s : m_streams) o = std::max(o, s.order());
  return o;
}

std::string StreamSet::describe() const {
  std::string out;
  for (const auto& s : m_streams) {
    if (!out.empty()) out.append(", ");
    out.append(s.name.empty() ? std::string("u") : "u_" + s.name);
  }
  if (!m_inputs.empty()) {
    out += " (inputs";
    for (const auto& n : m_inputs) out += " " + n;
    out += ")";
  }
  return out;
}

}  // namespace jetpinn
