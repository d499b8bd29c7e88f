#pragma once
// What SIMD code the engine was compiled to run. Everything here is derived from vec.h's
// Ops<T>: the lanes the kernels actually pad to and compute with, so `vashrink info`, the lane
// score and Mlp.lanes cannot disagree. (What the running CPU offers is in cpu.h.)

#include "vashrink/config.h"
#include "vashrink/vec.h"

namespace VASHRINK_NAMESPACE {

struct SimdTarget {
    const char* isa;        // instruction set of the kernels' code: "AVX2" on the avx2-fma path
    const char* kernels;    // code path in vec.h: "avx2-fma" or "portable"
    int register_bits;      // width of one of the kernels' registers
    int float32_lanes;      // simd::lanes_v<float>: widths are padded to this
    int float64_lanes;      // simd::lanes_v<double>
    bool fma;               // the kernels' multiply-adds round once
};

namespace detail {
/// The ISA the portable path's 16-byte arrays are compiled to (decided by -march).
constexpr const char* portable_isa() noexcept {
#if defined(__AVX__)
    return "AVX";  // 128-bit VEX code
#elif defined(__SSE4_2__)
    return "SSE4.2";
#elif defined(__SSE4_1__)
    return "SSE4.1";
#elif defined(__SSE2__) || defined(_M_X64)
    return "SSE2";
#elif defined(__ARM_NEON) || defined(__aarch64__)
    return "NEON";
#else
    return "scalar";
#endif
}
}  // namespace detail

/// The SIMD code this translation unit runs (decided by -march at build time). An AVX-512 build
/// reports the AVX2 path and 8 float lanes: widths are padded to 8 floats there too, and its one
/// 512-bit kernel (the float LSTM step, recurrent.h) pairs 8-lane blocks with the same results.
constexpr SimdTarget compiled_target() noexcept {
#if VASHRINK_AVX2
    const char* isa = "AVX2";
#else
    const char* isa = detail::portable_isa();
#endif
    return {isa, simd::kKernels, simd::kRegisterBits, simd::lanes_v<float>, simd::lanes_v<double>,
            simd::kFusedMultiplyAdd};
}

}  // namespace VASHRINK_NAMESPACE
