// Elementwise functions and their derivatives up to fourth order, written once for host and device.
// Jets need f..f''' for third-order streams; the reverse sweep differentiates those terms once more (f'''').
// Each rule takes x and fills d[0..n] with f, f', ..., f^(n), n <= 4.
#pragma once
#include <cmath>

#ifdef __CUDACC__
#define JETPINN_HD __host__ __device__
#else
#define JETPINN_HD
#endif

namespace jetpinn {

enum class Activation { Tanh, Sin, Cos, Exp, Log, Sqrt, Sigmoid, Softplus, Reciprocal, Power, Erf };

template <class T>
JETPINN_HD inline void activation_derivs(Activation a, T x, int power, T* d, int n) {
  using std::cos;
  using std::erf;
  using std::exp;
  using std::log;
  using std::log1p;
  using std::sin;
  using std::sqrt;
  using std::tanh;
  switch (a) {
    case Activation::Tanh: {  // t = tanh x, s = 1 - t^2: f' = s, f'' = -2ts, f''' = s(6t^2 - 2), f'''' = 8ts(2 - 3t^2)
      T t = tanh(x), s = T(1) - t * t;
      d[0] = t;
      if (n >= 1) d[1] = s;
      if (n >= 2) d[2] = T(-2) * t * s;
      if (n >= 3) d[3] = s * (T(6) * t * t - T(2));
      if (n >= 4) d[4] = T(8) * t * s * (T(2) - T(3) * t * t);
      break;
    }
    case Activation::Sin: {  // sin, cos, -sin, -cos, sin
      T sv = sin(x), cv = cos(x);
      d[0] = sv;
      if (n >= 1) d[1] = cv;
      if (n >= 2) d[2] = -sv;
      if (n >= 3) d[3] = -cv;
      if (n >= 4) d[4] = sv;
      break;
    }
    case Activation::Cos: {  // cos, -sin, -cos, sin, cos
      T sv = sin(x), cv = cos(x);
      d[0] = cv;
      if (n >= 1) d[1] = -sv;
      if (n >= 2) d[2] = -cv;
      if (n >= 3) d[3] = sv;
      if (n >= 4) d[4] = cv;
      break;
    }
    case Activation::Exp: {  // every derivative is exp x
      T e = exp(x);
      for (int i = 0; i <= n; ++i) d[i] = e;
      break;
    }
    case Activation::Log: {  // log x, 1/x, -1/x^2, 2/x^3, -6/x^4
      T r = T(1) / x;
      d[0] = log(x);
      if (n >= 1) d[1] = r;
      if (n >= 2) d[2] = -r * r;
      if (n >= 3) d[3] = T(2) * r * r * r;
      if (n >= 4) d[4] = T(-6) * r * r * r * r;
      break;
    }
    case Activation::Sqrt: {  // sqrt x, 1/(2 sqrt x), -1/(4 x^1.5), 3/(8 x^2.5), -15/(16 x^3.5)
      T r = sqrt(x), q = T(1) / x;
      d[0] = r;
      if (n >= 1) d[1] = T(0.5) / r;
      if (n >= 2) d[2] = T(-0.25) / r * q;
      if (n >= 3) d[3] = T(0.375) / r * q * q;
      if (n >= 4) d[4] = T(-0.9375) / r * q * q * q;
      break;
    }
    case Activation::Sigmoid:
    case Activation::Softplus: {
      // sigma = 1/(1+e^-x), s = sigma(1-sigma), q = 1 - 2 sigma:
      // sigma' = s, sigma'' = s q, sigma''' = s q^2 - 2 s^2, sigma'''' = s q^3 - 8 s^2 q; softplus' = sigma.
      T sg = x >= 0 ? T(1) / (T(1) + exp(-x)) : exp(x) / (T(1) + exp(x));
      T s = sg * (T(1) - sg), q = T(1) - T(2) * sg;
      T sd[5] = {sg, s, s * q, s * q * q - T(2) * s * s, s * q * q * q - T(8) * s * s * q};
      if (a == Activation::Sigmoid) {
        for (int i = 0; i <= n; ++i) d[i] = sd[i];
      } else {  // softplus = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
        d[0] = (x > 0 ? x : T(0)) + log1p(exp(-(x > 0 ? x : -x)));
        for (int i = 1; i <= n; ++i) d[i] = sd[i - 1];
      }
      break;
    }
    case Activation::Reciprocal: {  // f^(k) = (-1)^k k! x^-(k+1)
      T r = T(1) / x;
      d[0] = r;
      T fact = T(-1), rp = r * r;
      for (int i = 1; i <= n; ++i) {
        d[i] = fact * rp;
        fact *= -T(i + 1);
        rp *= r;
      }
      break;
    }
    case Activation::Erf: {  // g = erf' = 2/sqrt(pi) e^(-x^2): erf'' = -2x g, erf''' = (4x^2 - 2) g, erf'''' = (12x - 8x^3) g
      T g = T(1.1283791670955126) * exp(-x * x);
      d[0] = erf(x);
      if (n >= 1) d[1] = g;
      if (n >= 2) d[2] = T(-2) * x * g;
      if (n >= 3) d[3] = (T(4) * x * x - T(2)) * g;
      if (n >= 4) d[4] = (T(12) * x - T(8) * x * x * x) * g;
      break;
    }
    case Activation::Power: {  // x^p, p integer: f^(k) = p!/(p-k)! x^(p-k), zero once k > p >= 0
      for (int i = 0; i <= n; ++i) {
        T c = T(1);
        for (int j = 0; j < i; ++j) c *= T(power - j);
        int e = power - i;
        T v = T(1);
        if (c == T(0)) {
          v = T(0);
        } else if (e >= 0) {
          for (int j = 0; j < e; ++j) v *= x;
        } else {
          for (int j = 0; j < -e; ++j) v /= x;
        }
        d[i] = c * v;
      }
      break;
    }
  }
}

inline const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Tanh: return "tanh";
    case Activation::Sin: return "sin";
    case Activation::Cos: return "cos";
    case Activation::Exp: return "exp";
    case Activation::Log: return "log";
    case Activation::Sqrt: return "sqrt";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Softplus: return "softplus";
    case Activation::Reciprocal: return "reciprocal";
    case Activation::Power: return "power";
    case Activation::Erf: return "erf";
  }
  return "?";
}

}  // namespace jetpinn
