#pragma once
// RTNEURAL_DEFAULT_ALIGNMENT for the build's ISA, unless given: the vector register's alignment,
// because RTNeural's xsimd backend stores whole registers with aligned stores into arrays declared
// with it (an AVX-512 build needs 64; 32 can fault), while its Eigen backend accepts 8, 16 and 32
// only. The same rule as python/vashrink/runtime/toolchain.py (rtneural_alignment), which the
// compiled-header and bench builds use; tests/runtime/test_toolchain.py checks that they agree.
#if !defined(RTNEURAL_DEFAULT_ALIGNMENT)
#  if defined(__AVX512F__) && !defined(RTNEURAL_USE_EIGEN)
#    define RTNEURAL_DEFAULT_ALIGNMENT 64
#  elif defined(__AVX__)
#    define RTNEURAL_DEFAULT_ALIGNMENT 32
#  else
#    define RTNEURAL_DEFAULT_ALIGNMENT 16
#  endif
#endif
