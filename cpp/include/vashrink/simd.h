#pragma once
// What SIMD the engine was compiled for, and what the running CPU offers.
// The lane counts decide how widths are padded and what the lane score counts.

#include <string>

namespace vashrink {

struct SimdTarget {
    const char* isa;        // widest vector ISA the engine's code uses
    int register_bits;      // width of one vector register of that ISA
    int float32_lanes;
    int float64_lanes;
    bool fma;
};

/// The ISA this translation unit is compiled for (decided by -march at build time).
constexpr SimdTarget compiled_target() noexcept {
#if defined(__AVX512F__)
    return {"AVX-512", 512, 16, 8, true};
#elif defined(__AVX2__)
#  if defined(__FMA__)
    return {"AVX2", 256, 8, 4, true};
#  else
    return {"AVX2", 256, 8, 4, false};
#  endif
#elif defined(__AVX__)
    return {"AVX", 256, 8, 4, false};
#elif defined(__SSE2__) || defined(_M_X64)
    return {"SSE2", 128, 4, 2, false};
#elif defined(__ARM_NEON) || defined(__aarch64__)
    return {"NEON", 128, 4, 2, true};
#else
    return {"scalar", 32, 1, 1, false};
#endif
}

/// Vector ISAs the running CPU supports, widest last ("sse2 avx avx2 fma avx512f" style).
std::string cpu_features();

/// The CPU's brand string where the platform exposes one, else "".
std::string cpu_model_name();

}  // namespace vashrink
