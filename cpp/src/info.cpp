// Bindings for build and CPU facts: what `vashrink info` prints and what scores use for lanes.
// build_info is compiled_target(), which is derived from the kernels' own lane counts (vec.h),
// so its float32_lanes/float64_lanes always equal MlpF32.lanes/MlpF64.lanes of this module.
#include <pybind11/pybind11.h>

#include "vashrink/cpu.h"
#include "vashrink/simd.h"

namespace py = pybind11;

void register_info(py::module_& m) {
    constexpr auto target = vashrink::compiled_target();
    static_assert(target.float32_lanes == vashrink::simd::lanes_v<float>);
    static_assert(target.float64_lanes == vashrink::simd::lanes_v<double>);
    py::dict build;
    build["isa"] = target.isa;
    build["kernels"] = target.kernels;
    build["register_bits"] = target.register_bits;
    build["float32_lanes"] = target.float32_lanes;
    build["float64_lanes"] = target.float64_lanes;
    build["fma"] = target.fma;
    build["march"] = VASHRINK_MARCH;
    build["compiler"] = __VERSION__;
#if defined(__OPTIMIZE__)
    build["optimized"] = true;
#else
    build["optimized"] = false;
#endif
    m.attr("build_info") = build;
    m.def("cpu_features", &vashrink::cpu_features,
          "Vector ISAs the running CPU supports, space separated.");
    m.def("cpu_model_name", &vashrink::cpu_model_name, "The CPU's brand string, or ''.");
}
