#pragma once
// What the running CPU offers (as opposed to simd.h: what the engine was compiled for).
// Not needed on the audio path; `vashrink info` prints both.

#include <fstream>
#include <string>

#include "vashrink/config.h"

namespace VASHRINK_NAMESPACE {

/// Vector ISAs the running CPU supports, widest last ("sse2 sse4.2 avx avx2 fma avx512f" style).
inline std::string cpu_features() {
    std::string out;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
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

/// The CPU's brand string where the platform exposes one (Linux /proc/cpuinfo), else "".
inline std::string cpu_model_name() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            const auto start = colon == std::string::npos ? colon : line.find_first_not_of(' ', colon + 1);
            if (start != std::string::npos) return line.substr(start);
        }
    }
    return "";
}

}  // namespace VASHRINK_NAMESPACE
