#pragma once
// Fused layers for small WaveNets (wavenet.h): when a layer's conv outputs, its channels and its
// head input each fit one register, it is not gated and has no head 1x1, one pass per frame does
// the dilated conv, the input mixin, the activation, the head sum and the layer 1x1 + residual,
// with the channel count a compile-time constant (fully unrolled loops) and z kept in a
// register. Chosen at load (small_kernel), once per layer; used by such layers in arrays that
// the frames-in-lanes path (wavenet_lanes.h) does not take (a condition DSP of several
// channels, per-channel PReLU slopes); other layers take the general path. Four frames are
// computed together (eight FMA chains); a single frame splits its tap sum over three chains.

#include "vashrink/wavenet_kernels.h"

namespace VASHRINK_NAMESPACE {
namespace wavenet {
namespace detail {

/// F frames starting at h (frame stride hs): conv + mixin (cond, stride cs) -> act -> head +=,
/// next = h + L a + lb (or h). P partial sums per frame over the taps.
template <int C, int F, int P>
VASHRINK_INLINE void small_tile(const Layer& ly, const float* h, int hs, const float* cond, int cs, float* head,
                                int heads, float* next, int ns) noexcept {
    const Conv& cv = ly.conv;
    reg acc[F][P];
    const reg bias = V::load(cv.bias.data());
    for (int f = 0; f < F; ++f) {
        acc[f][0] = bias;
        for (int p = 1; p < P; ++p) acc[f][p] = V::zero();
    }
    const float* mw = ly.mixin.w.data();
    for (int k = 0; k < ly.mixin.in; ++k) {
        const reg w = V::load(mw + k * L);
        for (int f = 0; f < F; ++f) acc[f][0] = V::fma(V::set1(cond[static_cast<std::ptrdiff_t>(f) * cs + k]), w, acc[f][0]);
    }
    const auto tap = [&](int t, int p) {
        const float* xt = h + static_cast<std::ptrdiff_t>(cv.offsets[static_cast<std::size_t>(t)]) * hs;
        const float* wt = cv.w.data() + static_cast<std::size_t>(t) * C * L;
        for (int c = 0; c < C; ++c) {
            const reg w = V::load(wt + c * L);
            for (int f = 0; f < F; ++f)
                acc[f][p] = V::fma(V::set1(xt[static_cast<std::ptrdiff_t>(f) * hs + c]), w, acc[f][p]);
        }
    };
    int t = 0;
    for (; t + P <= cv.taps; t += P)
        for (int p = 0; p < P; ++p) tap(t + p, p);
    for (; t < cv.taps; ++t) tap(t, 0);
    const bool l1 = ly.has_l1;
    const reg lb = l1 ? V::load(ly.l1.bias.data()) : V::zero();
    const float* lw = ly.l1.w.data();
    for (int f = 0; f < F; ++f) {
        reg z = acc[f][0];
        for (int p = 1; p < P; ++p) z = V::add(z, acc[f][p]);
        const reg a = ly.act(z, 0);
        float* hr = head + static_cast<std::ptrdiff_t>(f) * heads;
        V::store(hr, V::add(V::load(hr), a));
        reg r = V::load(h + static_cast<std::ptrdiff_t>(f) * hs);
        if (l1) {
            r = V::add(r, lb);
            for (int b = 0; b < C; ++b) r = V::fma(V::lane(a, b), V::load(lw + b * L), r);
        }
        V::store(next + static_cast<std::ptrdiff_t>(f) * ns, r);
    }
}

template <int C>
void small_layer(const Layer& ly, const float* h, int hs, const float* cond, int cs, float* head, int heads,
                 float* next, int ns, int n) noexcept {
    int f = 0;
    for (; f + 4 <= n; f += 4)
        small_tile<C, 4, 2>(ly, h + static_cast<std::ptrdiff_t>(f) * hs, hs, cond + static_cast<std::ptrdiff_t>(f) * cs, cs,
                            head + static_cast<std::ptrdiff_t>(f) * heads, heads, next + static_cast<std::ptrdiff_t>(f) * ns, ns);
    for (; f < n; ++f)
        small_tile<C, 1, 3>(ly, h + static_cast<std::ptrdiff_t>(f) * hs, hs, cond + static_cast<std::ptrdiff_t>(f) * cs, cs,
                            head + static_cast<std::ptrdiff_t>(f) * heads, heads, next + static_cast<std::ptrdiff_t>(f) * ns, ns);
}

/// The fused kernel for this layer, or null when it does not qualify (general path).
inline SmallFn small_kernel(const Layer& ly, int channels) noexcept {
    if (ly.gated || ly.has_h1 || ly.conv.outp != L || padded(channels) != L) return nullptr;
    if (ly.has_l1 && (ly.l1.in != channels || ly.l1.outp != L)) return nullptr;
    if (!ly.has_l1 && ly.bottleneck != channels) return nullptr;
    switch (channels) {
        case 1: return &small_layer<1>;
        case 2: return &small_layer<2>;
        case 3: return &small_layer<3>;
        case 4: return &small_layer<4>;
        case 5: return &small_layer<5>;
        case 6: return &small_layer<6>;
        case 7: return &small_layer<7>;
        case 8: return &small_layer<8>;
        default: break;
    }
    if constexpr (L >= 16) {
        if (channels == 16) return &small_layer<16>;
    }
    return nullptr;
}

}  // namespace detail
}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
