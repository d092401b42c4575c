// Jet streams: which derivatives of a value ride along with it through the network.
// A stream is a sum of partial derivatives D_m over multi-indices m (sorted input indices, order 1..3):
// a pure stream has one multi-index ((x), (x,x), (t,x,x)); a collapsed Laplacian sums the pure second
// derivatives over chosen inputs (lap = u_xx + u_yy), and its first derivatives can be streams too (lap_x).
// Stream 0 is always the value. A set is closed under lower derivatives and fixed once per problem.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace jetpinn {

using MultiIndex = std::vector<int>;  // sorted input indices, e.g. {0, 1, 1} = d^3 / dx0 dx1 dx1

struct Stream {
  std::string name;               // "" for the value, "x", "xx", "txx", "lap", "lap_x"
  std::vector<MultiIndex> terms;  // the derivative is the sum of D_m over these; empty for the value
  int order() const { return terms.empty() ? 0 : static_cast<int>(terms.front().size()); }
  bool collapsed() const { return terms.size() > 1; }
};

// One term of a chain rule: coef * f^(k)(x) * x_{factor[0]} * ... (unary), or coef * u_{factor[0]} * v_{factor[1]}
// (product). Factors are stream indices.
struct RuleTerm {
  double coef = 1;
  int k = 0;   // derivative order of the elementwise function (unary rules only)
  int nf = 0;  // number of factors, 1..3
  int factor[3] = {0, 0, 0};
};
using RuleProgram = std::vector<std::vector<RuleTerm>>;  // per output stream (index 0, the value, left empty)

class StreamSet {
 public:
  // Streams: the value plus each requested derivative and everything below it.
  // Requests name derivatives by input names: "x", "xx", "txx" (single-letter inputs may be concatenated,
  // otherwise separate with commas: "x1,x1"), "lap" (Laplacian over `laplacian_inputs`), "lap_x".
  static std::shared_ptr<const StreamSet> make(std::vector<std::string> input_names,
                                               const std::vector<std::string>& requests,
                                               std::vector<std::string> laplacian_inputs = {});
  // The value-only set (plain tensors, losses): one stream.
  static std::shared_ptr<const StreamSet> value_only();

  int size() const { return static_cast<int>(m_streams.size()); }
  int num_inputs() const { return static_cast<int>(m_inputs.size()); }
  const std::vector<std::string>& inputs() const { return m_inputs; }
  const Stream& stream(int s) const { return m_streams[static_cast<std::size_t>(s)]; }
  // Index of a stream by request name ("", "x", "xx", "lap", ...); throws listing the available ones.
  int index(const std::string& request) const;
  int find(const std::string& request) const;  // -1 when absent
  int max_order() const;
  std::string describe() const;  // "u, u_t, u_x, u_xx"

  // Chain-rule programs, resolved once: unary y = f(x), and product y = u * v.
  const RuleProgram& unary_program() const { return m_unary; }
  const RuleProgram& product_program() const { return m_product; }
  int max_unary_k() const { return m_max_k; }

 private:
  std::vector<std::string> m_inputs;
  std::vector<Stream> m_streams;
  RuleProgram m_unary, m_product;
  int m_max_k = 1;
  int add_pure(MultiIndex m);
  int find_terms(const std::vector<MultiIndex>& terms) const;
  MultiIndex parse_multi_index(const std::string& text) const;
  void build_programs();
};

using StreamSetPtr = std::shared_ptr<const StreamSet>;

}  // namespace jetpinn
