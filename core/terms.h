// Loss terms: what a problem hands the trainer. Each term has its own points (P x inputs), the jet streams its
// residual needs, per-point data (targets, sources), a weight, and a residual function mapping the network's
// output jet at those points to a plain P x k residual. The PDE term (is_pde) gets RBA multipliers, resampling
// and batch statistics; initial and boundary terms are fixed point sets.
#pragma once
#include <functional>
#include <string>

#include "rng.h"
#include "tape.h"

namespace jetpinn {

template <class T>
struct Term {
  std::string name;       // "residual", "ic", "bc", ...
  StreamSetPtr streams;   // derivatives the residual reads
  bool is_pde = false;    // collocation term
  double weight = 1.0;    // constant weight in the loss
  Index count = 0;        // number of points to sample
  RowMat<T> points;       // count x inputs
  RowMat<T> data;         // count x any: what the residual needs besides the network (targets, sources)
  // Fill points and data with `count` points drawn from rng.
  std::function<void(Term& term, Rng& rng)> sample;
  // The residual, count x k (k components, e.g. the two momentum equations).
  std::function<Var<T>(Var<T> out, Tape<T>& tape, const Term& term)> residual;
};

}  // namespace jetpinn
