#pragma once
// NAM Core's activations (NAM/activations.h) for the WaveNet engine: tanh and sigmoid with
// vmath.h's vectorised exp (|error| <= 1.3e-7), the piecewise ones exact; one register at a time.

#include <algorithm>
#include <cstddef>
#include <string>

#include "vashrink/config.h"
#include "vashrink/storage.h"
#include "vashrink/vec.h"
#include "vashrink/vmath.h"

namespace VASHRINK_NAMESPACE {
namespace wavenet {

enum class Act : int {
    tanh = 0, hardtanh, fasttanh, relu, leaky_relu, prelu, sigmoid, silu, hardswish,
    leaky_hardtanh, softsign, count
};

/// An activation: its kind, 4 scalars (slope; or min_val, max_val, min_slope, max_slope) and
/// optional per-channel PReLU slopes (bottleneck values; read during load only).
struct ActSpec {
    int kind = 0;
    float params[4] = {0.01f, 0.0f, 0.0f, 0.0f};
    const float* slopes = nullptr;
};

namespace detail {

using V = simd::Ops<float>;
using reg = V::reg;
inline constexpr int L = V::lanes;

inline int padded(int n) noexcept { return (n + L - 1) / L * L; }

struct Activation {
    Act kind = Act::tanh;
    float p[4] = {0.01f, 0, 0, 0};
    AlignedVector<float> slopes;  // padded, PReLU per channel (empty: p[0])

    VASHRINK_INLINE reg operator()(reg x, int v) const noexcept {
        switch (kind) {
            case Act::tanh: return vmath::tanh<float>(x);
            case Act::sigmoid: return vmath::sigmoid<float>(x);
            case Act::hardtanh: return V::min(V::set1(1.0f), V::max(V::set1(-1.0f), x));
            case Act::relu: return V::max(V::zero(), x);
            case Act::leaky_relu:
            case Act::prelu: {
                const reg s = slopes.empty() ? V::set1(p[0]) : V::load(slopes.data() + v * L);
                return V::fma(s, V::min(V::zero(), x), V::max(V::zero(), x));
            }
            case Act::silu: return V::mul(x, vmath::sigmoid<float>(x));
            case Act::hardswish: {
                const reg t = V::min(V::set1(6.0f), V::max(V::zero(), V::add(x, V::set1(3.0f))));
                return V::mul(V::mul(x, t), V::set1(1.0f / 6.0f));
            }
            case Act::softsign: return V::div(x, V::add(V::set1(1.0f), V::abs(x)));
            case Act::leaky_hardtanh: {
                const reg lo = V::set1(p[0]), hi = V::set1(p[1]);
                const reg mid = V::min(hi, V::max(lo, x));
                const reg below = V::mul(V::set1(p[2]), V::min(V::zero(), V::sub(x, lo)));
                const reg above = V::mul(V::set1(p[3]), V::max(V::zero(), V::sub(x, hi)));
                return V::add(mid, V::add(below, above));
            }
            case Act::fasttanh: {
                const reg ax = V::abs(x), x2 = V::mul(x, x);
                const reg num = V::mul(x, V::add(V::fma(V::set1(2.45550750702956f), ax, V::set1(2.45550750702956f)),
                                                 V::mul(V::fma(V::set1(0.821226666969744f), ax, V::set1(0.893229853513558f)), x2)));
                const reg den = V::fma(V::add(V::set1(2.44506634652299f), x2),
                                       V::abs(V::fma(V::mul(V::set1(0.814642734961073f), x), ax, x)),
                                       V::set1(2.44506634652299f));
                return V::div(num, den);
            }
            default: return x;
        }
    }

    bool load(const ActSpec& s, int channels, std::string& error) {
        if (s.kind < 0 || s.kind >= static_cast<int>(Act::count)) {
            error = "unknown activation code " + std::to_string(s.kind);
            return false;
        }
        kind = static_cast<Act>(s.kind);
        std::copy(s.params, s.params + 4, p);
        if (!all_finite(p, 4)) {
            error = "activation parameters contain NaN or Inf";
            return false;
        }
        slopes.clear();
        if (s.slopes != nullptr) {
            if (!all_finite(s.slopes, static_cast<std::size_t>(channels))) {
                error = "PReLU slopes contain NaN or Inf";
                return false;
            }
            slopes.assign(static_cast<std::size_t>(padded(channels)), 0.0f);
            std::copy(s.slopes, s.slopes + channels, slopes.begin());
        }
        return true;
    }
};

}  // namespace detail
}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
