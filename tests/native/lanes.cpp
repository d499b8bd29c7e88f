// Prints the lane counts the engine reports (simd.h's compiled_target(), what Python's
// `vashrink info` reads) next to the ones its kernels use (vec.h, Model<T>::lanes), so
// test_native.py can check they agree for each -march.
#include <cstdio>

#include "vashrink/model.h"
#include "vashrink/simd.h"

int main() {
    constexpr auto t = vashrink::compiled_target();
    std::printf("isa=%s kernels=%s register_bits=%d fma=%d\n", t.isa, t.kernels, t.register_bits,
                t.fma ? 1 : 0);
    std::printf("simd_float32=%d vec_float32=%d model_float32=%d\n", t.float32_lanes,
                vashrink::simd::lanes_v<float>, vashrink::Model<float>::lanes);
    std::printf("simd_float64=%d vec_float64=%d model_float64=%d\n", t.float64_lanes,
                vashrink::simd::lanes_v<double>, vashrink::Model<double>::lanes);
    return 0;
}
