// Batch-gradient statistics (see grad_stats.h).
#include "grad_stats.h"

#include <cmath>

namespace jetpinn {

void GradStatsConfig::validate() const {
  JETPINN_CHECK(per_sample || batches >= 2, "gradient statistics need at least 2 batches, got " << batches);
}

template <class T>
void GradStats<T>::begin(const ParamStore<T>& params, const GradStatsConfig& config) {
  config.validate();
  m_c = config;
  m_active = true;
  m_points = -1;
  const auto n = static_cast<std::size_t>(params.size());
  m_s1.assign(m_c.per_sample ? 0 : n, 0.0);
  m_s2.assign(m_c.per_sample ? 0 : n, 0.0);
  m_r.assign(n, 0.0);
  m_sq.assign(static_cast<std::size_t>(params.count()), 0.0);
  m_seen.assign(static_cast<std::size_t>(params.count()), 0);
  m_offset.clear();
  for (const ParamInfo& p : params.infos()) m_offset.push_back(p.offset);
}

template <class T>
void GradStats<T>::accumulate(Index offset, const T* g, Index n, double c) {
  double *s1 = m_s1.data() + offset, *s2 = m_s2.data() + offset;
  for (Index e = 0; e < n; ++e) {
    const double cv = c * static_cast<double>(g[e]);
    s1[e] += cv;
    s2[e] += cv * cv;
  }
}

template <class T>
void GradStats<T>::add_difference(Index offset, const T* after, const T* before, Index n) {
  double* r = m_r.data() + offset;
  for (Index e = 0; e < n; ++e) r[e] += static_cast<double>(after[e]) - static_cast<double>(before[e]);
}

template <class T>
void GradStats<T>::affine(int w, int bias, Index S, Index P, ConstMatView<T> dy, ConstMatView<T> a, MatView<T> gW,
                          T* gb) {
  JETPINN_CHECK(m_points < 0 || m_points == P, "gradient statistics: batched layers see " << m_points << " and " << P
                                                                                         << " points; only one collocation term can be batched");
  m_points = P;
  const Index out = dy.cols(), in = a.cols();
  m_seen[static_cast<std::size_t>(w)] = 1;
  if (bias >= 0) m_seen[static_cast<std::size_t>(bias)] = 1;
  m_gb.resize(out, in);
  m_gbias.assign(static_cast<std::size_t>(out), T(0));
  // This node's share of the gradient, R = sum_b G_b, is what it adds to gW and gb: kept (in float64) to
  // separate the shared boundary part from the residual's in finish().
  m_before = gW;
  if (bias >= 0) m_before_bias.assign(gb, gb + out);
  const Index ow = m_offset[static_cast<std::size_t>(w)], ob = bias >= 0 ? m_offset[static_cast<std::size_t>(bias)] : 0;
  if (m_c.per_sample) {
    // The plain product, then per-point inner products of the stream rows.
    gW.noalias() += dy.transpose() * a;
    add_difference(ow, gW.data(), m_before.data(), out * in);
    double sq = 0;
    for (Index s = 0; s < S; ++s)
      for (Index t = s; t < S; ++t) {
        const auto ds = dy.middleRows(s * P, P).array(), dt = dy.middleRows(t * P, P).array();
        const auto as = a.middleRows(s * P, P).array(), at = a.middleRows(t * P, P).array();
        const Eigen::Matrix<T, Eigen::Dynamic, 1> dd = (ds * dt).rowwise().sum(), aa = (as * at).rowwise().sum();
        sq += (s == t ? 1.0 : 2.0) * (dd.template cast<double>().array() * aa.template cast<double>().array()).sum();
      }
    m_sq[static_cast<std::size_t>(w)] += sq;
    if (bias >= 0) {
      column_sums(dy.data(), P, out, m_gbias.data());
      for (Index j = 0; j < out; ++j) gb[j] += m_gbias[static_cast<std::size_t>(j)];
      add_difference(ob, gb, m_before_bias.data(), out);
      m_sq[static_cast<std::size_t>(bias)] += dy.topRows(P).template cast<double>().squaredNorm();
    }
    return;
  }
  const Index B = m_c.batches;
  JETPINN_CHECK(B <= P, "gradient statistics: " << B << " batches but only " << P << " collocation points");
  for (Index b = 0; b < B; ++b) {
    const Index b0 = b * P / B, b1 = (b + 1) * P / B, nb = b1 - b0;
    const double c = static_cast<double>(P) / static_cast<double>(nb);
    for (Index s = 0; s < S; ++s) {
      const auto dys = dy.middleRows(s * P + b0, nb);
      const auto as = a.middleRows(s * P + b0, nb);
      if (s == 0) m_gb.noalias() = dys.transpose() * as;
      else m_gb.noalias() += dys.transpose() * as;
    }
    gW += m_gb;
    accumulate(ow, m_gb.data(), out * in, c);
    if (bias >= 0) {
      column_sums(dy.data() + b0 * out, nb, out, m_gbias.data());
      for (Index j = 0; j < out; ++j) gb[j] += m_gbias[static_cast<std::size_t>(j)];
      accumulate(ob, m_gbias.data(), out, c);
    }
  }
  add_difference(ow, gW.data(), m_before.data(), out * in);
  if (bias >= 0) add_difference(ob, gb, m_before_bias.data(), out);
}

template <class T>
GradSnr GradStats<T>::finish(const ParamStore<T>& params) {
  JETPINN_CHECK(m_active, "gradient statistics: finish() without begin()");
  m_active = false;
  return grad_snr_from_sums(params, params.grads(), m_c, m_points, m_s1.data(), m_s2.data(), m_r.data(), m_sq.data(),
                            m_seen);
}

template <class T>
GradSnr grad_snr_from_sums(const ParamStore<T>& params, const T* grads, const GradStatsConfig& c, Index points,
                           const double* s1, const double* s2, const double* rsum, const double* sq,
                           const std::vector<char>& seen) {
  GradSnr out;
  JETPINN_CHECK(points > 0, "gradient statistics: no batched layer was seen in the sweep");
  const double N = static_cast<double>(points);
  const double B = c.per_sample ? N : static_cast<double>(c.batches);
  out.batches = static_cast<int>(B);
  double mu2 = 0, var2 = 0;
  for (int p = 0; p < params.count(); ++p) {
    const ParamInfo& info = params.info(p);
    if (!seen[static_cast<std::size_t>(p)] || (info.is_bias && !c.include_biases)) continue;
    const T* g = grads + info.offset;
    double m2 = 0, v2 = 0;
    if (c.per_sample) {
      double r2 = 0;
      for (Index e = 0; e < info.size(); ++e) {
        const double gv = static_cast<double>(g[e]), r = rsum[static_cast<std::size_t>(info.offset + e)];
        m2 += gv * gv;
        r2 += r * r;
      }
      v2 = std::max(0.0, N * sq[static_cast<std::size_t>(p)] - r2);
    } else {
      for (Index e = 0; e < info.size(); ++e) {
        const auto k = static_cast<std::size_t>(info.offset + e);
        const double mean_res = s1[k] / B;
        const double mu = mean_res + (static_cast<double>(g[e]) - rsum[k]);  // + the shared boundary part
        m2 += mu * mu;
        v2 += std::max(0.0, s2[k] / B - mean_res * mean_res);
      }
    }
    out.layers.push_back(info.name);
    out.layer_snr.push_back(v2 > 0 ? std::sqrt(m2 / v2) : INFINITY);
    mu2 += m2;
    var2 += v2;
  }
  JETPINN_CHECK(!out.layers.empty(), "gradient statistics: no parameter entry to count");
  out.mean_norm = std::sqrt(mu2);
  out.std_norm = std::sqrt(var2);
  out.snr = var2 > 0 ? std::sqrt(mu2 / var2) : INFINITY;
  out.phi = mu2 + var2 > 0 ? std::sqrt(mu2 / (mu2 + var2)) : 0.0;
  return out;
}

template class GradStats<float>;
template class GradStats<double>;
template GradSnr grad_snr_from_sums<float>(const ParamStore<float>&, const float*, const GradStatsConfig&, Index,
                                           const double*, const double*, const double*, const double*,
                                           const std::vector<char>&);
template GradSnr grad_snr_from_sums<double>(const ParamStore<double>&, const double*, const GradStatsConfig&, Index,
                                            const double*, const double*, const double*, const double*,
                                            const std::vector<char>&);

}  // namespace jetpinn
