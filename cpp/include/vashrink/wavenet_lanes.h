#pragma once
// Small layer arrays with frames in the lanes (wavenet.h). With few channels (A2's 3, A1 nano's
// 4 and 2) a register of output channels is mostly padding, so an array whose every layer is
// plain (not gated, no head 1x1, bottleneck = channels <= one register, one condition channel,
// no per-channel PReLU slopes) keeps its history channel-major instead: row c holds channel c
// frame after frame (Rows). A block is then computed L frames per register, each conv weight
// broadcast once for G registers of frames: about C*C*K/L FMAs per frame and layer instead of
// C*K. One sample at a time (n = 1) keeps outputs in the lanes as elsewhere, and carries the
// current frame's h from layer to layer in a register (the rows are written for later frames
// only), so the layer-to-layer chain has no store-to-load round trip. The channel count is a
// compile-time constant (lanes_kernels picks the instantiation at load).

#include <algorithm>
#include <cstring>

#include "vashrink/wavenet_kernels.h"

namespace VASHRINK_NAMESPACE {
namespace wavenet {
namespace detail {

/// Scatter the first `c` lanes of v to rows[i][at].
template <int C>
VASHRINK_INLINE void scatter(Rows& r, int at, reg v) noexcept {
    alignas(64) float t[L];
    V::store(t, v);
    for (int c = 0; c < C; ++c) r.row(c)[at] = t[c];
}

/// n frames (any n <= kMaxBlock) of array `a`: input `in` (frame stride ins), condition `cond`
/// (stride cs), head accumulator from prev_head (stride phs) or zero; writes a.out, a.head_out.
template <int C>
void lanes_block(Array& a, const float* in, int ins, const float* cond, int cs, const float* prev_head, int phs,
                 int n) noexcept {
    constexpr int G = C <= 4 ? 2 : 1;  // registers of frames per pass: 2 G C accumulators
    const int nr = (n + G * L - 1) / (G * L) * (G * L);
    float* xb = a.xin.data();
    for (int f = 0; f < n; ++f) xb[f] = cond[static_cast<std::ptrdiff_t>(f) * cs];
    std::fill(xb + n, xb + nr, 0.0f);
    Rows& r0 = a.layers.front().rows;
    r0.begin(n);
    const int ni = a.rechannel.in, ro = a.rechannel.outp;
    for (int c = 0; c < C; ++c) {
        float* row = r0.row(c) + r0.pos;
        for (int f = 0; f < n; ++f) {
            float s = 0.0f;
            for (int i = 0; i < ni; ++i) s += a.rechannel.w[static_cast<std::size_t>(i) * ro + c] * in[static_cast<std::ptrdiff_t>(f) * ins + i];
            row[f] = s;
        }
    }
    Rows& hr = a.head_rows;
    hr.begin(n);
    for (int c = 0; c < C; ++c) {
        float* row = hr.row(c) + hr.pos;
        for (int f = 0; f < nr; ++f) row[f] = (prev_head && f < n) ? prev_head[static_cast<std::ptrdiff_t>(f) * phs + c] : 0.0f;
    }
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        Layer& ly = a.layers[l];
        Rows& h = ly.rows;
        Rows& nx = l + 1 < a.layers.size() ? a.layers[l + 1].rows : a.out_rows;
        nx.begin(n);
        const float* ws = ly.ws.data();
        const int taps = ly.conv.taps;
        for (int f0 = 0; f0 < n; f0 += G * L) {
            reg acc[G][C];
            for (int o = 0; o < C; ++o) {
                const reg b = V::set1(ly.conv.bias[static_cast<std::size_t>(o)]), m = V::set1(ly.mixin.w[static_cast<std::size_t>(o)]);
                for (int g = 0; g < G; ++g) acc[g][o] = V::fma(m, V::load(xb + f0 + g * L), b);
            }
            for (int t = 0; t < taps; ++t) {
                const int base = h.pos + ly.conv.offsets[static_cast<std::size_t>(t)] + f0;
                const float* wt = ws + static_cast<std::size_t>(t) * C * C;
                for (int c = 0; c < C; ++c) {
                    reg xv[G];
                    for (int g = 0; g < G; ++g) xv[g] = V::load(h.row(c) + base + g * L);
                    for (int o = 0; o < C; ++o) {
                        const reg w = V::set1(wt[c * C + o]);
                        for (int g = 0; g < G; ++g) acc[g][o] = V::fma(w, xv[g], acc[g][o]);
                    }
                }
            }
            for (int g = 0; g < G; ++g) {
                const int at = f0 + g * L;
                reg av[C];
                for (int o = 0; o < C; ++o) {
                    av[o] = ly.act(acc[g][o], 0);
                    float* hp = hr.row(o) + hr.pos + at;
                    V::store(hp, V::add(V::load(hp), av[o]));
                }
                for (int c = 0; c < C; ++c) {
                    reg r = V::load(h.row(c) + h.pos + at);
                    if (ly.has_l1) {
                        r = V::add(r, V::set1(ly.l1.bias[static_cast<std::size_t>(c)]));
                        for (int b = 0; b < C; ++b) r = V::fma(V::set1(ly.l1.w[static_cast<std::size_t>(b) * L + c]), av[b], r);
                    }
                    V::store(nx.row(c) + nx.pos + at, r);
                }
            }
        }
        h.pos += n;
    }
    const int os = padded(a.channels);
    for (int c = 0; c < C; ++c)
        for (int f = 0; f < n; ++f) a.out[static_cast<std::size_t>(f) * os + c] = a.out_rows.row(c)[a.out_rows.pos + f];
    // head conv: out[o][f] = bias + sum_t sum_c P[t][c][o] head_c[f + off_t], L frames a register
    const Conv& hc = a.head;
    const int hos = padded(a.head_size);
    alignas(64) float tmp[L];
    for (int f0 = 0; f0 < n; f0 += L) {
        for (int o = 0; o < a.head_size; ++o) {
            reg p0 = V::set1(hc.bias[static_cast<std::size_t>(o)]), p1 = V::zero();
            int t = 0;
            const auto tap = [&](int tt, reg& p) {
                const int base = hr.pos + hc.offsets[static_cast<std::size_t>(tt)] + f0;
                for (int c = 0; c < C; ++c)
                    p = V::fma(V::set1(hc.w[(static_cast<std::size_t>(tt) * C + c) * hc.outp + o]), V::load(hr.row(c) + base), p);
            };
            for (; t + 2 <= hc.taps; t += 2) tap(t, p0), tap(t + 1, p1);
            if (t < hc.taps) tap(t, p0);
            V::store(tmp, V::add(p0, p1));
            for (int f = 0; f < std::min(L, n - f0); ++f) a.head_out[static_cast<std::size_t>(f0 + f) * hos + o] = tmp[f];
        }
    }
    hr.pos += n;
}

/// One frame of array `a` (as lanes_block with n = 1), outputs in the lanes.
template <int C>
void lanes_one(Array& a, const float* in, int, const float* cond, int, const float* prev_head, int, int) noexcept {
    reg hcur = V::zero();
    for (int i = 0; i < a.rechannel.in; ++i)
        hcur = V::fma(V::set1(in[i]), V::load(a.rechannel.w.data() + static_cast<std::size_t>(i) * L), hcur);
    Rows& r0 = a.layers.front().rows;
    r0.begin(1);
    scatter<C>(r0, r0.pos, hcur);
    reg hacc = prev_head ? V::load(prev_head) : V::zero();
    const reg xc = V::set1(cond[0]);
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        Layer& ly = a.layers[l];
        Rows& h = ly.rows;
        const Conv& cv = ly.conv;
        reg p[3] = {V::fma(xc, V::load(ly.mixin.w.data()), V::load(cv.bias.data())), V::zero(), V::zero()};
        const auto past = [&](int t, int k) {
            const int at = h.pos + cv.offsets[static_cast<std::size_t>(t)];
            const float* wt = cv.w.data() + static_cast<std::size_t>(t) * C * L;
            for (int c = 0; c < C; ++c) p[k] = V::fma(V::set1(h.row(c)[at]), V::load(wt + c * L), p[k]);
        };
        const int last = cv.taps - 1;
        int t = 0;
        for (; t + 3 <= last; t += 3)
            for (int k = 0; k < 3; ++k) past(t + k, k);
        for (; t < last; ++t) past(t, 0);
        const float* wl = cv.w.data() + static_cast<std::size_t>(last) * C * L;
        for (int c = 0; c < C; ++c) p[c % 3] = V::fma(V::lane(hcur, c), V::load(wl + c * L), p[c % 3]);
        const reg av = ly.act(V::add(V::add(p[0], p[1]), p[2]), 0);
        hacc = V::add(hacc, av);
        reg next = hcur;
        if (ly.has_l1) {
            reg q0 = V::add(hcur, V::load(ly.l1.bias.data())), q1 = V::zero();
            for (int b = 0; b < C; ++b) {
                reg& q = b % 2 ? q1 : q0;
                q = V::fma(V::lane(av, b), V::load(ly.l1.w.data() + static_cast<std::size_t>(b) * L), q);
            }
            next = V::add(q0, q1);
        }
        Rows& nx = l + 1 < a.layers.size() ? a.layers[l + 1].rows : a.out_rows;
        nx.begin(1);
        scatter<C>(nx, nx.pos, next);
        h.pos += 1;
        hcur = next;
    }
    V::store(a.out.data(), hcur);
    Rows& hr = a.head_rows;
    hr.begin(1);
    scatter<C>(hr, hr.pos, hacc);
    const Conv& hc = a.head;
    reg q[2] = {V::load(hc.bias.data()), V::zero()};
    for (int t = 0; t < hc.taps; ++t) {
        const int at = hr.pos + hc.offsets[static_cast<std::size_t>(t)];
        const float* wt = hc.w.data() + static_cast<std::size_t>(t) * C * L;
        for (int c = 0; c < C; ++c) q[t & 1] = V::fma(V::set1(hr.row(c)[at]), V::load(wt + c * L), q[t & 1]);
    }
    V::store(a.head_out.data(), V::add(q[0], q[1]));
    hr.pos += 1;
}

/// Set up `a` for the lanes path when every layer qualifies (see the top); false otherwise.
inline bool lanes_setup(Array& a) {
    const int c = a.channels;
    if (c > L || a.head.outp != L || a.head_in != c) return false;
    for (const Layer& ly : a.layers)
        if (ly.gated || ly.extended || ly.has_h1 || ly.conv.outp != L || ly.conv.in != c || ly.mixin.in != 1 ||
            !ly.act.slopes.empty() || (ly.has_l1 ? (ly.l1.in != c || ly.l1.outp != L) : ly.bottleneck != c))
            return false;
    switch (c) {
#define VASHRINK_LANES(N) \
    case N: a.lanes_block = &lanes_block<N>, a.lanes_one = &lanes_one<N>; break;
        VASHRINK_LANES(1) VASHRINK_LANES(2) VASHRINK_LANES(3) VASHRINK_LANES(4)
        VASHRINK_LANES(5) VASHRINK_LANES(6) VASHRINK_LANES(7) VASHRINK_LANES(8)
#undef VASHRINK_LANES
        default: return false;
    }
    for (Layer& ly : a.layers) {
        ly.rows.init(c, -ly.conv.offsets.front());
        const int taps = ly.conv.taps;
        ly.ws.assign(static_cast<std::size_t>(taps) * c * c, 0.0f);
        for (int t = 0; t < taps; ++t)
            for (int i = 0; i < c; ++i)
                for (int o = 0; o < c; ++o)
                    ly.ws[(static_cast<std::size_t>(t) * c + i) * c + o] = ly.conv.w[(static_cast<std::size_t>(t) * c + i) * L + o];
    }
    a.head_rows.init(c, -a.head.offsets.front());
    a.out_rows.init(c, 0);
    a.xin.assign(static_cast<std::size_t>(kMaxBlock + 2 * L), 0.0f);
    return true;
}

}  // namespace detail
}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
