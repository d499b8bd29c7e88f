#pragma once
// Vectorised exp, tanh, sigmoid and ELU for the activations: calling std::tanh per element
// would cost more than the matrix products of a small MLP. V is the register type (vec.h's
// Ops<T>, or WideFloat for the AVX-512 LSTM step: the same operations per lane, same results).
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
// double <= 1e-15.
//
// Non-finite inputs (the same on the AVX2 and the portable path, tested by
// tests/native/engine_test.cpp):
//   NaN in -> NaN out for exp, tanh, sigmoid, elu, and for relu and prelu (activation.h): every
//     min/max is written max(limit, x) / min(limit, x), and vec.h defines min/max to return their
//     second operand when either is NaN (the x86 instruction semantics), so x's NaN passes every
//     clamp and the arithmetic after it. The sign and payload of the NaN are not specified.
//   tanh(+inf) = 1, tanh(-inf) = -1 exactly (|x| is capped where tanh rounds to 1).
//   sigmoid(+inf) = 1, sigmoid(-inf) = 0 exactly; elu(+inf) = +inf, elu(-inf) = -1 exactly;
//   relu(+inf) = +inf, relu(-inf) = 0; prelu(+inf) = +inf, prelu(-inf) = slope * -inf (IEEE:
//   -inf, +inf, or NaN for a zero slope).
//   exp(x) (internal; softmax, sigmoid and elu use it): its input is clamped to [lo, hi] (below),
//     chosen so that 2^n reaches the exponent field's ends: exp(x) = 0 for x <= about -87.7
//     (float; -709.4 double) and +inf for x >= about 88.4 (float; 709.8 double), so
//     exp(-inf) = 0 and exp(+inf) = +inf. Results between the normal range and 0 are
//     subnormal or flushed to 0 (relative error there is not bounded; absolute error < 2^-126).
// Nothing here converts a float to an integer in C++ (the portable pow2 works on bits), so no
// input is undefined behaviour. Weights are finite (loaders refuse non-finite values).

#include <type_traits>

#include "vashrink/config.h"
#include "vashrink/vec.h"

namespace VASHRINK_NAMESPACE::vmath {

template <typename T>
struct ExpConstants;

template <>
struct ExpConstants<float> {
    // x log2(e) rounds to n = -127 (2^n = 0) at lo and to n = 128 (2^n = +inf) at hi; n stays
    // within [-127, 128], where pow2 writes a valid exponent field.
    static constexpr float lo = -88.0f;
    static constexpr float hi = 89.0f;
    static constexpr float tanh_cap = 9.0f;  // tanh(9) = 1 - 3e-8: 1 in float
};

template <>
struct ExpConstants<double> {
    static constexpr double lo = -709.0;  // n = -1023: 2^n = 0
    static constexpr double hi = 710.0;   // n = 1024: 2^n = +inf
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
template <typename V = simd::Ops<float>>
VASHRINK_INLINE typename V::reg exp2_reduced(typename V::reg f) noexcept {
    const auto c = [](int k) { return V::set1(kExp2Poly[k]); };
    // Estrin's scheme: the terms of Horner's rule in a dependency chain half as long.
    const auto f2 = V::mul(f, f);
    const auto f4 = V::mul(f2, f2);
    const auto p01 = V::fma(c(1), f, c(0));
    const auto p23 = V::fma(c(3), f, c(2));
    const auto p456 = V::fma(V::fma(c(6), f, c(5)), f, c(4));
    return V::fma(p456, f4, V::fma(p23, f2, p01));
}

/// 2^z for float z within [-127.5, 128.5): 2^n * 2^f with n = round(z), f = z - n.
template <typename V = simd::Ops<float>>
VASHRINK_INLINE typename V::reg exp2_in_range(typename V::reg z) noexcept {
    const auto n = V::round(z);
    return V::mul(exp2_reduced<V>(V::sub(z, n)), V::pow2(n));
}

/// exp(x) for x already within [ExpConstants<T>::lo, hi] (0 and +inf at the ends), or NaN.
/// float: 2^(x log2 e) (the rounding of x log2 e costs |x| * 4e-8 relative: harmless where
/// the activations use it); double: Cody-Waite reduction and a degree-13 Taylor polynomial.
template <typename T, typename V = simd::Ops<T>>
VASHRINK_INLINE typename V::reg exp_in_range(typename V::reg x) noexcept {
    using C = ExpConstants<T>;
    if constexpr (std::is_same_v<T, float>) {
        return exp2_in_range<V>(V::mul(x, V::set1(1.4426950408889634f)));
    } else {
        const auto n = V::round(V::mul(x, V::set1(T(1.4426950408889634074))));
        auto r = V::fnma(n, V::set1(C::ln2_hi), x);
        r = V::fnma(n, V::set1(C::ln2_lo), r);
        auto p = V::set1(T(kInvFactorial[C::degree]));
        for (int k = C::degree - 1; k >= 0; --k) p = V::fma(p, r, V::set1(T(kInvFactorial[k])));
        return V::mul(p, V::pow2(n));
    }
}

template <typename T, typename V = simd::Ops<T>>
VASHRINK_INLINE typename V::reg exp(typename V::reg x) noexcept {
    using C = ExpConstants<T>;
    // Limits first: a NaN x is returned by both (see vec.h) and propagates.
    return exp_in_range<T, V>(V::min(V::set1(C::hi), V::max(V::set1(C::lo), x)));
}

template <typename T, typename V = simd::Ops<T>>
VASHRINK_INLINE typename V::reg tanh(typename V::reg x) noexcept {
    const auto a = V::min(V::set1(ExpConstants<T>::tanh_cap), V::abs(x));  // NaN stays NaN
    if constexpr (std::is_same_v<T, float>) {
        // t = 2^n 2^f = e^(-2a); (1 - t) / (1 + t) = (2^-n - 2^f) / (2^-n + 2^f): the same
        // roundings (scaling by 2^n is exact) without the multiply by 2^n on the critical path.
        // Computed from m = -n = round(2a log2 e) and f = m - 2a log2 e (negation is exact and
        // rounding to nearest even symmetric: the same bits, without negating n).
        const auto z = V::mul(a, V::set1(2.8853900817779268f));  // 2 log2(e)
        const auto m = V::round(z);
        const auto p = exp2_reduced<V>(V::sub(m, z));
        const auto s = V::pow2(m);
        return V::copysign(V::div(V::sub(s, p), V::add(s, p)), x);
    } else {
        const auto t = exp_in_range<T, V>(V::mul(a, V::set1(T(-2))));
        const auto one = V::set1(T(1));
        return V::copysign(V::div(V::sub(one, t), V::add(one, t)), x);
    }
}

template <typename T, typename V = simd::Ops<T>>
VASHRINK_INLINE typename V::reg sigmoid(typename V::reg x) noexcept {
    const auto one = V::set1(T(1));
    if constexpr (std::is_same_v<T, float>) {
        // exp(-x) with the negation folded into the clamp and the constant (exact): exp's bits.
        using C = ExpConstants<T>;
        const auto c = V::max(V::set1(-C::hi), V::min(V::set1(-C::lo), x));  // NaN stays NaN
        return V::div(one, V::add(one, exp2_in_range<V>(V::mul(c, V::set1(-1.4426950408889634f)))));
    } else {
        return V::div(one, V::add(one, exp<T, V>(V::sub(V::zero(), x))));
    }
}

/// ELU with alpha = 1: x for x > 0, e^x - 1 otherwise (branch-free: max(0,x) + e^min(0,x) - 1).
template <typename T>
VASHRINK_INLINE typename simd::Ops<T>::reg elu(typename simd::Ops<T>::reg x) noexcept {
    using V = simd::Ops<T>;
    const auto z = V::zero();
    return V::add(V::max(z, x), V::sub(exp<T>(V::min(z, x)), V::set1(T(1))));
}

}  // namespace VASHRINK_NAMESPACE::vmath
