#pragma once
// One SIMD register type per scalar type, and the handful of operations the engine needs.
// AVX2 + FMA intrinsics when the build targets them (also on AVX-512 CPUs: lanes, padding and
// layouts stay 8 floats wide there); otherwise a fixed-size array of 16 bytes of lanes that the compiler vectorises for
// whatever it targets (SSE2, AVX, NEON, scalar). Ops<T>::lanes is the single source of truth for
// lane counts: weights are padded to it, and simd.h's compiled_target() reports it.
//
// min/max have one meaning on every path (the x86 minps/maxps one): min(a, b) = a < b ? a : b and
// max(a, b) = a > b ? a : b, so when either operand is NaN the result is b. Callers that must
// propagate a NaN from x pass it second: max(lo, x), min(cap, x). pow2 is defined (no UB) for
// every input, including NaN and values outside its exact range; its result is then garbage, and
// callers only use it where a NaN elsewhere in the expression wins.

#include <cmath>
#include <cstdint>
#include <cstring>

#include "vashrink/config.h"

#if defined(__AVX2__) && defined(__FMA__)
#  include <immintrin.h>
#  define VASHRINK_AVX2 1
#else
#  define VASHRINK_AVX2 0
#endif
#if VASHRINK_AVX2 && defined(__AVX512F__)
#  define VASHRINK_AVX512 1
#else
#  define VASHRINK_AVX512 0
#endif

namespace VASHRINK_NAMESPACE::simd {

template <typename T>
struct Ops;

#if VASHRINK_AVX2

/// The kernels' code path, as compiled_target() reports it.
inline constexpr const char* kKernels = "avx2-fma";
/// Whether Ops<T>::fma rounds once (a fused multiply-add instruction).
inline constexpr bool kFusedMultiplyAdd = true;

/// keep_first masks: 8 (4) all-ones lanes then 8 (4) zero lanes, read at an offset.
alignas(64) inline constexpr std::int32_t kLaneMask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                             0,  0,  0,  0,  0,  0,  0,  0};
alignas(64) inline constexpr std::int64_t kLaneMask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

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
    /// Lanes 0..n-1 of v, zeros after (0 <= n <= lanes).
    static VASHRINK_INLINE reg keep_first(reg v, int n) noexcept {
        const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLaneMask32 + 8 - n));
        return _mm256_and_ps(v, _mm256_castsi256_ps(m));
    }
    /// |magnitude| with the sign of `sign`; `magnitude` must be non-negative.
    static VASHRINK_INLINE reg copysign(reg magnitude, reg sign) noexcept {
        return _mm256_or_ps(magnitude, _mm256_and_ps(_mm256_set1_ps(-0.0f), sign));
    }
    static VASHRINK_INLINE reg round(reg a) noexcept {
        return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    /// 2^n for whole-valued n in [-126, 127], built in the exponent field; n = -127 gives 0 and
    /// n = 128 +inf (the ends vmath's exp clamps to). NaN converts to INT_MIN: defined, meaningless.
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
    static VASHRINK_INLINE reg keep_first(reg v, int n) noexcept {
        const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kLaneMask64 + 4 - n));
        return _mm256_and_pd(v, _mm256_castsi256_pd(m));
    }
    static VASHRINK_INLINE reg copysign(reg magnitude, reg sign) noexcept {
        return _mm256_or_pd(magnitude, _mm256_and_pd(_mm256_set1_pd(-0.0), sign));
    }
    static VASHRINK_INLINE reg round(reg a) noexcept {
        return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    /// 2^n for whole-valued n in [-1022, 1023]; n = -1023 gives 0 and n = 1024 +inf.
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

#if VASHRINK_AVX512
/// Two float registers in one AVX-512 register, for kernels that pair adjacent 8-lane blocks of
/// the 8-lane layout (the LSTM step, recurrent.h). Only what vmath.h's float functions use; each
/// operation is the same IEEE operation per lane as Ops<float>'s, so a kernel written with it gives
/// the AVX2 path's results bit for bit.
struct WideFloat {
    using reg = __m512;
    static constexpr int lanes = 16;
    // Every lane: the masked forms because GCC 12's unmasked ones start from an "undefined"
    // register that -Wmaybe-uninitialized reports once inlined; an all-ones mask is the same code.
    static constexpr __mmask16 kAll = 0xFFFF;
    static VASHRINK_INLINE reg zero() noexcept { return _mm512_setzero_ps(); }
    static VASHRINK_INLINE reg set1(float x) noexcept { return _mm512_set1_ps(x); }
    static VASHRINK_INLINE reg load(const float* p) noexcept { return _mm512_loadu_ps(p); }
    static VASHRINK_INLINE void store(float* p, reg v) noexcept { _mm512_storeu_ps(p, v); }
    static VASHRINK_INLINE reg add(reg a, reg b) noexcept { return _mm512_add_ps(a, b); }
    static VASHRINK_INLINE reg sub(reg a, reg b) noexcept { return _mm512_sub_ps(a, b); }
    static VASHRINK_INLINE reg mul(reg a, reg b) noexcept { return _mm512_mul_ps(a, b); }
    static VASHRINK_INLINE reg div(reg a, reg b) noexcept { return _mm512_div_ps(a, b); }
    static VASHRINK_INLINE reg fma(reg a, reg b, reg c) noexcept { return _mm512_fmadd_ps(a, b, c); }
    static VASHRINK_INLINE reg fnma(reg a, reg b, reg c) noexcept { return _mm512_fnmadd_ps(a, b, c); }
    static VASHRINK_INLINE reg min(reg a, reg b) noexcept { return _mm512_maskz_min_ps(kAll, a, b); }
    static VASHRINK_INLINE reg max(reg a, reg b) noexcept { return _mm512_maskz_max_ps(kAll, a, b); }
    static VASHRINK_INLINE reg abs(reg a) noexcept { return _mm512_abs_ps(a); }
    /// magnitude | (sign & sign bit) in one ternary-logic instruction (0xF8: A | (B & C)).
    static VASHRINK_INLINE reg copysign(reg magnitude, reg sign) noexcept {
        return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(magnitude),
                                                             _mm512_castps_si512(sign),
                                                             _mm512_set1_epi32(INT32_MIN), 0xF8));
    }
    static VASHRINK_INLINE reg round(reg a) noexcept {
        return _mm512_maskz_roundscale_ps(kAll, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    /// 2^n for whole-valued n in [-126, 128] (128: +inf) in one instruction (vscalefps). Unlike
    /// Ops<float>::pow2, n = -127 gives 2^-127 (subnormal), not 0: vmath.h's sigmoid and tanh,
    /// the only users, return the same bits either way (1 / (1 + tiny) = 1; tanh's n >= -26).
    static VASHRINK_INLINE reg pow2(reg n) noexcept {
        return _mm512_maskz_scalef_ps(kAll, _mm512_set1_ps(1.0f), n);
    }
    /// The 8-lane halves of a and b: {a.lo, b.lo} and {a.hi, b.hi}.
    static VASHRINK_INLINE reg low_halves(reg a, reg b) noexcept {
        return _mm512_maskz_shuffle_f32x4(kAll, a, b, 0x44);
    }
    static VASHRINK_INLINE reg high_halves(reg a, reg b) noexcept {
        return _mm512_maskz_shuffle_f32x4(kAll, a, b, 0xEE);
    }
};
#endif

#else  // portable fallback: 16 bytes of lanes, written so the compiler can vectorise it

inline constexpr const char* kKernels = "portable";
// fma below is std::fma (one rounding) where the target has the instruction (x86 FMA, AArch64),
// else a * b + c, which x86 without FMA cannot contract (on other targets that have a fused
// instruction but define neither macro, -ffp-contract decides and kFusedMultiplyAdd may be wrong).
#  if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
inline constexpr bool kFusedMultiplyAdd = true;
#  else
inline constexpr bool kFusedMultiplyAdd = false;
#  endif

/// The unsigned integer of T's width (the bits pow2 writes).
template <typename T>
struct PortableBits;
template <>
struct PortableBits<float> {
    using type = std::uint32_t;
    static constexpr int mantissa = 23;
    static constexpr std::uint32_t bias = 127;
};
template <>
struct PortableBits<double> {
    using type = std::uint64_t;
    static constexpr int mantissa = 52;
    static constexpr std::uint64_t bias = 1023;
};

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
    static VASHRINK_INLINE T fused(T a, T b, T c) noexcept {
        if constexpr (kFusedMultiplyAdd) {
            return std::fma(a, b, c);
        } else {
            return a * b + c;
        }
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
        for (int i = 0; i < lanes; ++i) r.v[i] = fused(a.v[i], b.v[i], c.v[i]);
        return r;
    }
    static VASHRINK_INLINE reg fnma(reg a, reg b, reg c) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = fused(-a.v[i], b.v[i], c.v[i]);
        return r;
    }
    // x86 operand semantics (see the top of this file): b when either is NaN.
    static VASHRINK_INLINE reg min(reg a, reg b) noexcept { return map2([](T x, T y) { return x < y ? x : y; }, a, b); }
    static VASHRINK_INLINE reg max(reg a, reg b) noexcept { return map2([](T x, T y) { return x > y ? x : y; }, a, b); }
    static VASHRINK_INLINE reg abs(reg a) noexcept { return map([](T x) { return std::fabs(x); }, a); }
    static VASHRINK_INLINE reg keep_first(reg v, int n) noexcept {
        reg r;
        for (int i = 0; i < lanes; ++i) r.v[i] = i < n ? v.v[i] : T(0);
        return r;
    }
    static VASHRINK_INLINE reg copysign(reg m, reg s) noexcept {
        return map2([](T x, T y) { return std::copysign(x, y); }, m, s);
    }
    static VASHRINK_INLINE reg round(reg a) noexcept { return map([](T x) { return std::nearbyint(x); }, a); }
    /// 2^n for whole-valued n within the exponent range, built in the exponent field: n + 1.5 *
    /// 2^mantissa holds n in its low bits. Integer arithmetic on the bits only, so NaN or huge n
    /// give a meaningless value, never undefined behaviour (no float -> int conversion).
    static VASHRINK_INLINE reg pow2(reg n) noexcept {
        using B = PortableBits<T>;
        using U = typename B::type;
        constexpr T magic = T(U(3) << (B::mantissa - 1));
        U magic_bits;
        std::memcpy(&magic_bits, &magic, sizeof magic_bits);
        reg r;
        for (int i = 0; i < lanes; ++i) {
            const T shifted = n.v[i] + magic;
            U bits;
            std::memcpy(&bits, &shifted, sizeof bits);
            bits = (bits - magic_bits + B::bias) << B::mantissa;
            std::memcpy(&r.v[i], &bits, sizeof bits);
        }
        return r;
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

/// Bits of one register (the same for float and double on every path).
inline constexpr int kRegisterBits = lanes_v<float> * 32;
static_assert(lanes_v<double> * 64 == kRegisterBits, "float and double registers differ in width");

/// n rounded up to whole lanes.
template <typename T>
constexpr int padded(int n) noexcept {
    return (n + lanes_v<T> - 1) / lanes_v<T> * lanes_v<T>;
}

}  // namespace VASHRINK_NAMESPACE::simd
