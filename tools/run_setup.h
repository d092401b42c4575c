// Turning a resolved configuration into the objects of a run: the network, the problem, the trainer's
// options, and the relative L2 error against the reference. Shared by train and eval.
#pragma once
#include <memory>

#include "config.h"
#include "train.h"

namespace jetpinn {

MlpConfig network_config(const ProblemInfo& info, const Json& cfg);
TrainOptions train_options(const Json& cfg);
// With a dense optim.quasi_newton: refuses a network above optim.dense_max_params (one line, before anything is
// written or allocated; the trainer checks again).
void check_dense_quasi_newton(const ProblemInfo& info, const Json& cfg);

template <class T>
std::unique_ptr<Problem<T>> make_problem(const ProblemInfo& info, const Json& cfg);

// ||pred - ref|| / ||ref|| of the reference's metric field, accumulated in float64.
template <class T>
double relative_l2(const ProblemInfo& info, const Problem<T>& problem, const Mlp<T>& net, const Reference& ref,
                   RowMat<double>* prediction = nullptr);

}  // namespace jetpinn
