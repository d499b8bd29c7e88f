// Bindings for build and CPU facts: what `vashrink info` prints and what scores use for lanes.
#include <pybind11/pybind11.h>

#include <fstream>
#include <string>

#include "vashrink/simd.h"

namespace py = pybind11;

namespace vashrink {

std::string cpu_features() {
    std::string out;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    const auto add = [&out](const char* name, bool has) {
        if (has) out += out.empty() ? name : std::string(" ") + name;
    };
    add("sse2", __builtin_cpu_supports("sse2"));
    add("sse4.2", __builtin_cpu_supports("sse4.2"));
    add("avx", __builtin_cpu_supports("avx"));
    add("avx2", __builtin_cpu_supports("avx2"));
    add("fma", __builtin_cpu_supports("fma"));
    add("avx512f", __builtin_cpu_supports("avx512f"));
#elif defined(__aarch64__)
    out = "neon";
#endif
    return out;
}

std::string cpu_model_name() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    }
    return "";
}

}  // namespace vashrink

void register_info(py::module_& m) {
    constexpr auto target = vashrink::compiled_target();
    py::dict build;
    build["isa"] = target.isa;
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
