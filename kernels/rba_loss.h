// The fused residual-based-attention (RBA) update and mean-square loss of one P x k residual r (row-major), the
// device side of BackendOps::rba_mse_forward / backward (core/backend_ops.h's RbaRule, core/rba.h's rule):
//   update (optional), per column j, in double:  hi = max_i |r_ij|, lo = min_i |r_ij|,
//     nr = (|r| - lo) / (hi - lo) ("minmax" and hi > lo) or |r| / hi (hi > 0) or 0,
//     lambda <- init ? nr : gamma lambda + eta nr      (stored in T, in place)
//   loss = mean((w r)^2), mse = mean(r^2) over the P k entries (double; w = lambda when weighted, else 1):
//     stats[0] = loss, stats[1] = mse, out[0] = (T) loss.
// Backward: dr += dloss[0] * 2 w^2 r / (P k) with dloss a device scalar. Reductions are deterministic two-stage
// trees (no atomics); everything stays on the device (graph-safe).
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

struct RbaParams {
  double eta = 1e-3, gamma = 0.999;
  bool minmax = false;
  bool init = false;  // set lambda to the normalised |r| (the first update with init_from_residual)
};

template <class T>
void rba_mse_forward(Context& ctx, std::ptrdiff_t P, std::ptrdiff_t k, const T* r, T* lambda, const RbaParams& rule,
                     bool update, bool weighted, T* out, double* stats);
template <class T>
void rba_mse_backward(Context& ctx, std::ptrdiff_t P, std::ptrdiff_t k, const T* r, const T* lambda, bool weighted,
                      const T* dloss, T* dr);

}  // namespace jetpinn::cuda
