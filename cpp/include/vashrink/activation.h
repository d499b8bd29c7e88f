#pragma once
// Activations: names, and their application to one SIMD register or to a softmax group.
// Non-finite inputs behave the same on every path (see vmath.h): NaN in -> NaN out for every
// activation (relu and prelu included: max(0, NaN) is NaN here, unlike std::fmax), and a
// softmax group containing a NaN or a +inf is NaN in every unit; a -inf unit gets 0.

#include <cstddef>
#include <cstring>

#include "vashrink/config.h"
#include "vashrink/vmath.h"

namespace VASHRINK_NAMESPACE {

enum class Activation : int { none = 0, tanh, relu, sigmoid, elu, softmax, prelu };

inline constexpr const char* kActivationNames[] = {"none",    "tanh",    "relu", "sigmoid",
                                                   "elu",     "softmax", "prelu"};
inline constexpr int kActivationCount = 7;

/// The activation called `name`, or false if there is none (loaders turn that into an error).
inline bool activation_from_name(const char* name, Activation& out) noexcept {
    if (name == nullptr) return false;
    for (int i = 0; i < kActivationCount; ++i) {
        if (std::strcmp(name, kActivationNames[i]) == 0) {
            out = static_cast<Activation>(i);
            return true;
        }
    }
    return false;
}

inline const char* activation_name(Activation a) noexcept {
    const int i = static_cast<int>(a);
    return (i >= 0 && i < kActivationCount) ? kActivationNames[i] : "invalid";
}

inline constexpr bool is_valid(Activation a) noexcept {
    return static_cast<int>(a) >= 0 && static_cast<int>(a) < kActivationCount;
}

/// Element-wise activation of one register. Softmax is not element-wise and passes through
/// (the caller normalises the whole layer afterwards); PReLU uses the slopes register.
template <typename T, Activation A>
VASHRINK_INLINE typename simd::Ops<T>::reg activate(typename simd::Ops<T>::reg x,
                                                    typename simd::Ops<T>::reg slopes) noexcept {
    using V = simd::Ops<T>;
    if constexpr (A == Activation::tanh) {
        return vmath::tanh<T>(x);
    } else if constexpr (A == Activation::relu) {
        return V::max(V::zero(), x);  // x second: NaN propagates (vec.h)
    } else if constexpr (A == Activation::sigmoid) {
        return vmath::sigmoid<T>(x);
    } else if constexpr (A == Activation::elu) {
        return vmath::elu<T>(x);
    } else if constexpr (A == Activation::prelu) {
        return V::fma(slopes, V::min(V::zero(), x), V::max(V::zero(), x));
    } else {
        (void)slopes;
        return x;
    }
}

/// Softmax over `n` values at stride `stride`, each entry a register of independent lanes
/// (block mode: lanes are samples; per-sample mode uses `softmax_scalar_lanes`).
/// y_i = exp(x_i - max x) / sum_j exp(x_j - max x).
template <typename T>
inline void softmax_columns(T* x, int n, std::size_t stride) noexcept {
    using V = simd::Ops<T>;
    auto m = V::load(x);
    // A NaN may be dropped from the maximum, but then its own exp is NaN and so is the sum.
    for (int i = 1; i < n; ++i) m = V::max(m, V::load(x + i * stride));
    auto sum = V::zero();
    for (int i = 0; i < n; ++i) {
        const auto e = vmath::exp<T>(V::sub(V::load(x + i * stride), m));
        V::store(x + i * stride, e);
        sum = V::add(sum, e);
    }
    const auto inv = V::div(V::set1(T(1)), sum);
    for (int i = 0; i < n; ++i) V::store(x + i * stride, V::mul(V::load(x + i * stride), inv));
}

/// Softmax over the first `n` entries of a lane-padded vector (one sample). Padded entries stay
/// finite (they meet zero weights in the next layer).
template <typename T>
inline void softmax_vector(T* x, int n) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    T m = x[0];
    for (int i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
    const int n_pad = simd::padded<T>(n);
    const auto mv = V::set1(m);
    for (int i = 0; i < n_pad; i += L) V::store(x + i, vmath::exp<T>(V::sub(V::load(x + i), mv)));
    T sum = 0;
    for (int i = 0; i < n; ++i) sum += x[i];
    const auto inv = V::set1(T(1) / sum);
    for (int i = 0; i < n_pad; i += L) V::store(x + i, V::mul(V::load(x + i), inv));
}

}  // namespace VASHRINK_NAMESPACE
