// Launchers of the jet chain-rule kernels: one thread per element, all S streams of that element, rules from
// a FlatRules (jet_rules.h) passed by value. Buffers are stream-major: stream s at [s*n, (s+1)*n), n = points
// x columns, exactly like core/jet_kernels_cpu.h (the CPU references); backward ones accumulate (+=), a null
// adjoint skips that input. Pointers are device pointers; launches go on ctx's stream and are checked.
#pragma once
#include <cstddef>

#include "device_context.h"
#include "jet_rules.h"

namespace jetpinn::cuda {

template <class T>
void unary_jet_forward(Context& ctx, const FlatRules& rules, Activation a, int power, std::ptrdiff_t n, const T* x,
                       T* y);
template <class T>
void unary_jet_backward(Context& ctx, const FlatRules& rules, Activation a, int power, std::ptrdiff_t n, const T* x,
                        const T* y, const T* dy, T* dx);
template <class T>
void product_jet_forward(Context& ctx, const FlatRules& rules, std::ptrdiff_t n, const T* u, const T* v, T* y);
template <class T>
void product_jet_backward(Context& ctx, const FlatRules& rules, std::ptrdiff_t n, const T* u, const T* v, const T* dy,
                          T* du, T* dv);

}  // namespace jetpinn::cuda
