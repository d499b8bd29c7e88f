#pragma once
// Vectorised exp, tanh, sigmoid and ELU for the activations: calling std::tanh per element
// would cost more than the matrix products of a small MLP.
//
// float: exp(x) = 2^z with z = x log2(e), 2^z = 2^n 2^f (n = round(z), |f| <= 1/2), 2^f a
// degree-6 polynomial in Estrin form (fitted for minimum relative error, 1.6e-8).
// double: exp(x) = 2^n e^r with r = x - n ln 2 (Cody-Waite, ln 2 split in two), e^r its degree-13
// Taylor polynomial (truncation <= 2e-18). tanh(x) = sign(x) (1 - t) / (1 + t) with
// t = exp(-2|x|): never overflows, no cancellation worse than one ulp of 1 (float computes it as
// (2^-n - 2^f) / (2^-n + 2^f), one multiply shorter). A rational x P(x^2) / Q(x^2) without exp
// was tried and rejected: its float rounding reaches 3.4e-7 near tanh = 1 (docs/engine.md).
//
// Maximum absolute errors against float64 references on a dense grid over [-20, 20]: float tanh
// 1.3e-7, sigmoid 9.8e-8, elu 9.8e-8 (tests/test_engine.py asserts <= 2.4e-7, two ulp of 1);
// double <= 1e-15. Inputs are clamped so no step overflows; NaN inputs are not expected
// (loaders refuse non-finite weights, callers' audio is assumed finite).

#include <type_traits>

#include "vashrink/vec.h"

namespace vashrink::vmath {

template <typename T>
struct ExpConstants;

template <>
struct ExpConstants<float> {
    static constexpr float lo = -87.0f;  // 2^-126 region: smallest normal result
    static constexpr float hi = 88.0f;   // below log(FLT_MAX) = 88.72
    static constexpr float tanh_cap = 9.0f;  // tanh(9) = 1 - 3e-8: 1 in float
};

template <>
struct ExpConstants<double> {
    static constexpr double lo = -708.0;
    static constexpr double hi = 709.0;
    static constexpr double ln2_hi = 0.693147180369123816490;  // 32 significant bits
    static constexpr double ln2_lo = 1.9082149292705878e-10;  // ln 2 - ln2_hi
    static constexpr int degree = 13;
    static constexpr double tanh_cap = 19.5;  // tanh(19.5) = 1 - 2e-17
};

/// 1/k! for k = 0..13, the Taylor coefficients of e^r.
inline constexpr double kInvFactorial[14] = {
    1.0,
    1.0,
    1.0 / 2,
    1.0 / 6,
    1.0 / 24,
    1.0 / 120,
    1.0 / 720,
    1.0 / 5040,
    1.0 / 40320,
    1.0 / 362880,
    1.0 / 3628800,
    1.0 / 39916800,
    1.0 / 479001600,
    1.0 / 6227020800,
};

/// 2^f on [-1/2, 1/2] for float: degree-6 coefficients fitted for minimum maximum relative error
/// (Lawson-reweighted least squares, see docs/engine.md), rounded to float: max relative error
/// 1.6e-8 (float evaluation adds about one ulp).
inline constexpr float kExp2Poly[7] = {1.0f,
                                       0.6931471824645996f,
                                       0.24022646248340607f,
                                       0.05550328642129898f,
                                       0.009618489071726799f,
                                       0.0013399930903688073f,
                                       0.00015345810970757157f};

/// 2^f for |f| <= 1/2 (the polynomial part of exp2_in_range).
VASHRINK_INLINE simd::Ops<float>::reg exp2_reduced(simd::Ops<float>::reg f) noexcept {
    using V = simd::Ops<float>;
    const auto c = [](int k) { return V::set1(kExp2Poly[k]); };
    // Estrin's scheme: the terms of Horner's rule in a dependency chain half as long.
    const auto f2 = V::mul(f, f);
    const auto f4 = V::mul(f2, f2);
    const auto p01 = V::fma(c(1), f, c(0));
    const auto p23 = V::fma(c(3), f, c(2));
    const auto p456 = V::fma(V::fma(c(6), f, c(5)), f, c(4));
    return V::fma(p456, f4, V::fma(p23, f2, p01));
}

/// 2^z for float z within [-126, 127]: 2^n * 2^f with n = round(z), f = z - n.
VASHRINK_INLINE simd::Ops<float>::reg exp2_in_range(simd::Ops<float>::reg z) noexcept {
    using V = simd::Ops<float>;
    const auto n = V::round(z);
    return V::mul(exp2_reduced(V::sub(z, n)), V::pow2(n));
}

/// exp(x) for x already within [ExpConstants<T>::lo, hi].
/// float: 2^(x log2 e) (the rounding of x log2 e costs |x| * 4e-8 relative: harmless where
/// the activations use it); double: Cody-Waite reduction and a degree-13 Taylor polynomial.
template <typename T>
VASHRINK_INLINE typename simd::Ops<T>::reg exp_in_range(typename simd::Ops<T>::reg x) noexcept {
    using V = simd::Ops<T>;
    using C = ExpConstants<T>;
    if constexpr (std::is_same_v<T, float>) {
        return exp2_in_range(V::mul(x, V::set1(1.4426950408889634f)));
    } else {
        const auto n = V::round(V::mul(x, V::set1(T(1.4426950408889634074))));
        auto r = V::fnma(n, V::set1(C::ln2_hi), x);
        r = V::fnma(n, V::set1(C::ln2_lo), r);
        auto p = V::set1(T(kInvFactorial[C::degree]));
        for (int k = C::degree - 1; k >= 0; --k) p = V::fma(p, r, V::set1(T(kInvFactorial[k])));
        return V::mul(p, V::pow2(n));
    }
}

template <typename T>
VASHRINK_INLINE typename simd::Ops<T>::reg exp(typename simd::Ops<T>::reg x) noexcept {
    using V = simd::Ops<T>;
    using C = ExpConstants<T>;
    return exp_in_range<T>(V::min(V::max(x, V::set1(C::lo)), V::set1(C::hi)));
}

template <typename T>
VASHRINK_INLINE typename simd::Ops<T>::reg tanh(typename simd::Ops<T>::reg x) noexcept {
    using V = simd::Ops<T>;
    const auto a = V::min(V::abs(x), V::set1(ExpConstants<T>::tanh_cap));
    if constexpr (std::is_same_v<T, float>) {
        // t = 2^n 2^f = e^(-2a); (1 - t) / (1 + t) = (2^-n - 2^f) / (2^-n + 2^f): the same
        // roundings (scaling by 2^n is exact) without the multiply by 2^n on the critical path.
        const auto z = V::mul(a, V::set1(-2.8853900817779268f));  // -2 log2(e)
        const auto n = V::round(z);
        const auto p = exp2_reduced(V::sub(z, n));
        const auto s = V::pow2(V::sub(V::zero(), n));
        return V::copysign(V::div(V::sub(s, p), V::add(s, p)), x);
    } else {
        const auto t = exp_in_range<T>(V::mul(a, V::set1(T(-2))));
        const auto one = V::set1(T(1));
        return V::copysign(V::div(V::sub(one, t), V::add(one, t)), x);
    }
}

template <typename T>
VASHRINK_INLINE typename simd::Ops<T>::reg sigmoid(typename simd::Ops<T>::reg x) noexcept {
    using V = simd::Ops<T>;
    const auto one = V::set1(T(1));
    return V::div(one, V::add(one, exp<T>(V::sub(V::zero(), x))));
}

/// ELU with alpha = 1: x for x > 0, e^x - 1 otherwise (branch-free: max(x,0) + e^min(x,0) - 1).
template <typename T>
VASHRINK_INLINE typename simd::Ops<T>::reg elu(typename simd::Ops<T>::reg x) noexcept {
    using V = simd::Ops<T>;
    const auto z = V::zero();
    return V::add(V::max(x, z), V::sub(exp<T>(V::min(x, z)), V::set1(T(1))));
}

}  // namespace vashrink::vmath
