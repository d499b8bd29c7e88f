#pragma once
// One SIMD register type per scalar type, and the handful of operations the engine needs.
// AVX2 + FMA intrinsics when the build targets them; otherwise a fixed-size array of lanes that
// the compiler vectorises for whatever it targets (SSE2, NEON, scalar). The lane count here is
// the one weights are padded to.

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define VASHRINK_AVX2 1
#else
#  define VASHRINK_AVX2 0
#endif

#if defined(__GNUC__)
#  define VASHRINK_INLINE inline __attribute__((always_inline))
#else
#  define VASHRINK_INLINE inline
#endif

namespace vashrink::simd {

template <typename T>
struct Ops;

#if VASHRINK_AVX2

template <>
struct Ops<float> {
    using reg = __m256;
    static constexpr int lanes = 8;
    static VASHRINK_INLINE reg zero() noexcept { return _mm256_setzero_ps(); }
    static VASHRINK_INLINE reg set1(float x) noexcept { return _mm256_set1_ps(x); }
    static VASHRINK_INLINE reg load(const float* p) noexcept { return _mm256_loadu_ps(p); }
    static VASHRINK_INLINE void store(float* p, reg v) noexcept { _mm256_storeu_ps(p, v); }
    static VASHRINK_INLINE reg add(reg a, reg b) noexcept { return _mm256_add_ps(a, b); }
    static VASHRINK_INLINE reg sub(reg a, reg b) noexcept { return _mm256_sub_ps(a, b); }
    static VASHRINK_INLINE reg mul(reg a, reg b) noexcept { return _mm256_mul_ps(a, b); }
    static VASHRINK_INLINE reg div(reg a, reg b) noexcept { return _mm256_div_ps(a, b); }
    /// a * b + c with one rounding.
    static VASHRINK_INLINE reg fma(reg a, reg b, reg c) noexcept { return _mm256_fmadd_ps(a, b, c); }
    /// c - a * b with one rounding.
    static VASHRINK_INLINE reg fnma(reg a, reg b, reg c) noexcept { return _mm256_fnmadd_ps(a, b, c); }
    static VASHRINK_INLINE reg min(reg a, reg b) noexcept { return _mm256_min_ps(a, b); }
    static VASHRINK_INLINE reg max(reg a, reg b) noexcept { return _mm256_max_ps(a, b); }
    static VASHRINK_INLINE reg abs(reg a) noexcept {
        return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a);
    }
    /// |magnitude| with the sign of `sign`; `magnitude` must be non-negative.
    static VASHRINK_INLINE reg copysign(reg magnitude, reg sign) noexcept {
        return _mm256_or_ps(magnitude, _mm256_and_ps(_mm256_set1_ps(-0.0f), sign));
    }
    static VASHRINK_INLINE reg round(reg a) noexcept {
        return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    /// 2^n for whole-valued n in [-126, 127], built in the exponent field.
    static VASHRINK_INLINE reg pow2(reg n) noexcept {
        const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    }
    /// Lane I of v in every lane (a register permute: no store-to-load round trip).
    template <int I>
    static VASHRINK_INLINE reg lane(reg v) noexcept {
        if constexpr (I == 0) {
            return _mm256_broadcastss_ps(_mm256_castps256_ps128(v));
        } else {
            return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(I));
        }
    }
    static VASHRINK_INLINE reg lane(reg v, int i) noexcept {
        return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(i));
    }
    static VASHRINK_INLINE float hsum(reg v) noexcept {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
};

template <>
struct Ops<double> {
    using reg = __m256d;
    static constexpr int lanes = 4;
    static VASHRINK_INLINE reg zero() noexcept { return _mm256_setzero_pd(); }
    static VASHRINK_INLINE reg set1(double x) noexcept { return _mm256_set1_pd(x); }
    static VASHRINK_INLINE reg load(const double* p) noexcept { return _mm256_loadu_pd(p); }
    static VASHRINK_INLINE void store(double* p, reg v) noexcept { _mm256_storeu_pd(p, v); }
    static VASHRINK_INLINE reg add(reg a, reg b) noexcept { return _mm256_add_pd(a, b); }
    static VASHRINK_INLINE reg sub(reg a, reg b) noexcept { return _mm256_sub_pd(a, b); }
    static VASHRINK_INLINE reg mul(reg a, reg b) noexcept { return _mm256_mul_pd(a, b); }
    static VASHRINK_INLINE reg div(reg a, reg b) noexcept { return _mm256_div_pd(a, b); }
    static VASHRINK_INLINE reg fma(reg a, reg b, reg c) noexcept { return _mm256_fmadd_pd(a, b, c); }
    static VASHRINK_INLINE reg fnma(reg a, reg b, reg c) noexcept { return _mm256_fnmadd_pd(a, b, c); }
    static VASHRINK_INLINE reg min(reg a, reg b) noexcept { return _mm256_min_pd(a, b); }
    static VASHRINK_INLINE reg max(reg a, reg b) noexcept { return _mm256_max_pd(a, b); }
    static VASHRINK_INLINE reg abs(reg a) noexcept {
        return _mm256_andnot_pd(_mm256_set1_pd(-0.0), a);
    }
    static VASHRINK_INLINE reg copysign(reg magnitude, reg sign) noexcept {
        return _mm256_or_pd(magnitude, _mm256_and_pd(_mm256_set1_pd(-0.0), sign));
    }
    static VASHRINK_INLINE reg round(reg a) noexcept {
        return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    /// 2^n for whole-valued n in [-1022, 1023].
    static VASHRINK_INLINE reg pow2(reg n) noexcept {
        const __m256i n64 = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n));
        const __m256i e = _mm256_add_epi64(n64, _mm256_set1_epi64x(1023));
        return _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
    }
    template <int I>
    static VASHRINK_INLINE reg lane(reg v) noexcept {
        return _mm256_permute4x64_pd(v, I * 0x55);
    }
    static VASHRINK_INLINE reg lane(reg v, int i) noexcept {
        alignas(32) double t[4];
        _mm256_store_pd(t, v);
        return _mm256_set1_pd(t[i]);
    }
    static VASHRINK_INLINE double hsum(reg v) noexcept {
        __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
        s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
        return _mm_cvtsd_f64(s);
    }
};

#else  // portable fallback: 16 bytes of lanes, written so the compiler can vectorise it

template <typename T>
struct PortableOps {
    static constexpr int lanes = static_cast<int>(16 / sizeof(T));
    struct reg {
        T v[lanes];
    };
    template <typename F>
    static VASHRINK_INLINE reg map(F f, reg a) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = f(a.v[i]);
        return r;
    }
    template <typename F>
    static VASHRINK_INLINE reg map2(F f, reg a, reg b) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = f(a.v[i], b.v[i]);
        return r;
    }
    static VASHRINK_INLINE reg zero() noexcept { return set1(T(0)); }
    static VASHRINK_INLINE reg set1(T x) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = x;
        return r;
    }
    static VASHRINK_INLINE reg load(const T* p) noexcept {
        reg r;
        std::memcpy(r.v, p, sizeof(r.v));
        return r;
    }
    static VASHRINK_INLINE void store(T* p, reg v) noexcept { std::memcpy(p, v.v, sizeof(v.v)); }
    static VASHRINK_INLINE reg add(reg a, reg b) noexcept { return map2([](T x, T y) { return x + y; }, a, b); }
    static VASHRINK_INLINE reg sub(reg a, reg b) noexcept { return map2([](T x, T y) { return x - y; }, a, b); }
    static VASHRINK_INLINE reg mul(reg a, reg b) noexcept { return map2([](T x, T y) { return x * y; }, a, b); }
    static VASHRINK_INLINE reg div(reg a, reg b) noexcept { return map2([](T x, T y) { return x / y; }, a, b); }
    static VASHRINK_INLINE reg fma(reg a, reg b, reg c) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = a.v[i] * b.v[i] + c.v[i];
        return r;
    }
    static VASHRINK_INLINE reg fnma(reg a, reg b, reg c) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = c.v[i] - a.v[i] * b.v[i];
        return r;
    }
    static VASHRINK_INLINE reg min(reg a, reg b) noexcept { return map2([](T x, T y) { return y < x ? y : x; }, a, b); }
    static VASHRINK_INLINE reg max(reg a, reg b) noexcept { return map2([](T x, T y) { return y > x ? y : x; }, a, b); }
    static VASHRINK_INLINE reg abs(reg a) noexcept { return map([](T x) { return std::fabs(x); }, a); }
    static VASHRINK_INLINE reg copysign(reg m, reg s) noexcept {
        return map2([](T x, T y) { return std::copysign(x, y); }, m, s);
    }
    static VASHRINK_INLINE reg round(reg a) noexcept { return map([](T x) { return std::nearbyint(x); }, a); }
    static VASHRINK_INLINE reg pow2(reg n) noexcept {
        return map([](T x) { return std::ldexp(T(1), static_cast<int>(x)); }, n);
    }
    template <int I>
    static VASHRINK_INLINE reg lane(reg v) noexcept { return set1(v.v[I]); }
    static VASHRINK_INLINE reg lane(reg v, int i) noexcept { return set1(v.v[i]); }
    static VASHRINK_INLINE T hsum(reg v) noexcept {
        T s = 0;
        for (int i = 0; i < lanes; ++i) s += v.v[i];
        return s;
    }
};

template <>
struct Ops<float> : PortableOps<float> {};
template <>
struct Ops<double> : PortableOps<double> {};

#endif

/// Lanes of the engine's register for T: every width is padded to a multiple of this.
template <typename T>
constexpr int lanes_v = Ops<T>::lanes;

/// n rounded up to whole lanes.
template <typename T>
constexpr int padded(int n) noexcept {
    return (n + lanes_v<T> - 1) / lanes_v<T> * lanes_v<T>;
}

}  // namespace vashrink::simd
