// CPU kernels of the jet chain rules: the specification the CUDA kernels are checked against.
// A jet buffer holds S streams of n values each, stream-major (stream s at [s*n, (s+1)*n)).
// Unary: y = f(x) with the StreamSet's Faa di Bruno program; product: y = u * v with its Leibniz program.
// Backward functions accumulate (+=) into the input adjoints; a null adjoint pointer skips that input.
#pragma once
#include "activations.h"
#include "streams.h"
#include "tensor.h"

namespace jetpinn {

template <class T>
void unary_jet_forward_cpu(Activation a, int power, const StreamSet& streams, Index n, const T* x, T* y);
// y: the forward output (its value stream lets tanh skip re-evaluation); may be null.
template <class T>
void unary_jet_backward_cpu(Activation a, int power, const StreamSet& streams, Index n, const T* x, const T* y,
                            const T* dy, T* dx);
template <class T>
void product_jet_forward_cpu(const StreamSet& streams, Index n, const T* u, const T* v, T* y);
template <class T>
void product_jet_backward_cpu(const StreamSet& streams, Index n, const T* u, const T* v, const T* dy, T* du, T* dv);

}  // namespace jetpinn
