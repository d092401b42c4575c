// jetpinn: physics-informed neural networks trained with forward Taylor jets. Include this one header.
//   pde.h      ProblemSpec: inputs, outputs, domain, loss terms with jet-expression residuals, hard BCs
//   model.h    Model<T>: build from a configuration, train with callbacks (metrics, SNR, phase), evaluate u
//              and any derivative at your points, save and load
//   tape.h     the jet expressions a residual is written in: u.d("xx"), u.col(1), + - * /, sin, exp, pow, ...
//   terms.h    Term<T>: what a residual receives (term.points, term.data); samplers.h: Box, latin_hypercube
//   problem.h  Problem<T> and the registry, for problems written as classes (the built-in ones are)
//   driver.h   driver_main(): the whole `jetpinn` command line for your registered problems
// Points and results are RowMat<double> (Eigen, row-major, one row per point). Errors throw jetpinn::Error.
#pragma once

#include "driver.h"
#include "model.h"
#include "pde.h"
