#pragma once
// The WaveNet's building blocks (wavenet.h): the load-time specs, the history buffers ("rings"),
// packed convolution weights and their register-tiled kernels, FiLM; activations are in
// wavenet_activation.h.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "vashrink/config.h"
#include "vashrink/storage.h"
#include "vashrink/vec.h"
#include "vashrink/vmath.h"
#include "vashrink/wavenet_activation.h"

namespace VASHRINK_NAMESPACE {
namespace wavenet {


/// Where a layer applies FiLM (NAM Core's NAM/film.h), in the file's order.
enum FilmAt : int {
    conv_pre = 0, conv_post, input_mixin_pre, input_mixin_post, activation_pre, activation_post,
    layer1x1_post, head1x1_post, n_film
};

/// A FiLM: x <- x * s (+ t) with [s; t] = w c + b; w null: inactive.
struct FilmSpec {
    const float* w = nullptr;  // [D or 2 D][cond_size]
    const float* b = nullptr;  // [D or 2 D]
    bool shift = true;
};

/// One layer as handed to the loader (pointers only read during load).
struct LayerSpec {
    int kernel_size = 0, dilation = 0;
    bool gated = false;    // z has 2 B rows: gated, or blended when `blended`
    bool blended = false;  // a = g act(z1) + (1 - g) z1, g = gate(z2)
    FilmSpec film[n_film];
    ActSpec act, gate;
    const float* conv_w = nullptr;   // [Z][C][K], Z = B or 2 B gated
    const float* conv_b = nullptr;   // [Z]
    const float* mixin_w = nullptr;  // [Z][cond_size]
    const float* l1_w = nullptr;     // [C][B] or null (no layer 1x1: h passes unchanged)
    const float* l1_b = nullptr;     // [C]
    int head1x1_out = 0;             // 0: the activation itself goes to the head
    const float* h1_w = nullptr;     // [H1][B]
    const float* h1_b = nullptr;     // [H1]
};

struct ArraySpec {
    int input_size = 0, channels = 0, bottleneck = 0;
    int cond_size = 1;  // input mixin width: 1 (the input) or a condition DSP's outputs
    const float* rechannel = nullptr;  // [C][input_size]
    const LayerSpec* layers = nullptr;
    int n_layers = 0;
    int head_size = 0, head_kernel = 1, head_dilation = 1;
    const float* head_w = nullptr;  // [head_size][head_in][head_kernel]
    const float* head_b = nullptr;  // [head_size] or null
};

inline constexpr int kMaxBlock = 256;
inline constexpr int kMaxChannels = 1 << 10;

namespace detail {

/// Frames of `stride` floats: `hist` frames of history before the current block at `pos`.
struct Ring {
    AlignedVector<float> data;
    int stride = 0, hist = 0, cap = 0, pos = 0;

    void init(int channels, int history) {
        stride = padded(channels);
        hist = history;
        cap = hist + std::max(hist, kMaxBlock) + kMaxBlock;
        data.assign(static_cast<std::size_t>(cap) * stride, 0.0f);
        pos = hist;
    }
    void reset() noexcept {
        std::fill(data.begin(), data.end(), 0.0f);
        pos = hist;
    }
    /// Make room for n frames at pos (n <= kMaxBlock).
    void begin(int n) noexcept {
        if (pos + n > cap) {
            std::memmove(data.data(), data.data() + static_cast<std::size_t>(pos - hist) * stride,
                         sizeof(float) * static_cast<std::size_t>(hist) * stride);
            pos = hist;
        }
    }
    float* now() noexcept { return data.data() + static_cast<std::size_t>(pos) * stride; }
};

/// Channel-major history (wavenet_lanes.h): row r holds channel r, `hist` past frames before
/// pos, and room for a block rounded up to whole registers (two more).
struct Rows {
    AlignedVector<float> data;
    int rows = 0, hist = 0, cap = 0, pos = 0;

    void init(int r, int history) {
        rows = r;
        hist = history;
        cap = padded(hist + std::max(hist, kMaxBlock) + kMaxBlock + 2 * L);
        data.assign(static_cast<std::size_t>(rows) * cap, 0.0f);
        pos = hist;
    }
    void reset() noexcept {
        std::fill(data.begin(), data.end(), 0.0f);
        pos = hist;
    }
    void begin(int n) noexcept {
        if (pos + n + 2 * L > cap) {
            for (int r = 0; r < rows; ++r)
                std::memmove(row(r), row(r) + (pos - hist), sizeof(float) * static_cast<std::size_t>(hist));
            pos = hist;
        }
    }
    float* row(int r) noexcept { return data.data() + static_cast<std::size_t>(r) * cap; }
};

/// Weights of one conv (or 1x1: taps 1) packed [tap][in][out padded], with its frame offsets.
struct Conv {
    AlignedVector<float> w, bias;
    int in = 0, out = 0, outp = 0, taps = 0;
    std::vector<int> offsets;  // per tap, <= 0

    /// From torch layout [out][in][taps]; bias may be null (zeros).
    void pack(const float* weight, const float* b, int out_, int in_, int taps_, int dilation) {
        in = in_, out = out_, outp = padded(out_), taps = taps_;
        w.assign(static_cast<std::size_t>(taps) * in * outp, 0.0f);
        bias.assign(static_cast<std::size_t>(outp), 0.0f);
        offsets.resize(static_cast<std::size_t>(taps));
        for (int t = 0; t < taps; ++t) {
            offsets[static_cast<std::size_t>(t)] = -(taps - 1 - t) * dilation;
            for (int c = 0; c < in; ++c)
                for (int o = 0; o < out; ++o)
                    w[(static_cast<std::size_t>(t) * in + c) * outp + o] =
                        weight[(static_cast<std::size_t>(o) * in + c) * taps + t];
        }
        if (b != nullptr) std::copy(b, b + out, bias.begin());
    }
};

/// acc[0] += packed conv of one frame at x: the (tap, input) sum split over 4 accumulator sets
/// with fixed indices (a runtime index would keep them in memory), else one chain of FMAs.
template <int NV>
VASHRINK_INLINE void conv_one(const Conv& cv, const float* x, int stride, int z0, reg (&acc)[1][NV]) noexcept {
    reg p0[NV], p1[NV], p2[NV], p3[NV];
    for (int v = 0; v < NV; ++v) p0[v] = acc[0][v], p1[v] = p2[v] = p3[v] = V::zero();
    const auto step = [&](reg(&p)[NV], const float* wc, float xv) {
        const reg xb = V::set1(xv);
        for (int v = 0; v < NV; ++v) p[v] = V::fma(xb, V::load(wc + v * L), p[v]);
    };
    const std::size_t o = static_cast<std::size_t>(cv.outp);
    const auto xt_of = [&](int t) {
        return x + static_cast<std::ptrdiff_t>(cv.offsets[static_cast<std::size_t>(t)]) * stride;
    };
    const auto wt_of = [&](int t) { return cv.w.data() + static_cast<std::size_t>(t) * cv.in * o + z0; };
    int t0 = 0;
    if (cv.in < 4) {  // few inputs (A2's 3 channels): split over taps instead
        for (; t0 + 4 <= cv.taps; t0 += 4) {
            const float *x0 = xt_of(t0), *x1 = xt_of(t0 + 1), *x2 = xt_of(t0 + 2), *x3 = xt_of(t0 + 3);
            const float *w0 = wt_of(t0), *w1 = wt_of(t0 + 1), *w2 = wt_of(t0 + 2), *w3 = wt_of(t0 + 3);
            for (int c = 0; c < cv.in; ++c) {
                step(p0, w0 + c * o, x0[c]);
                step(p1, w1 + c * o, x1[c]);
                step(p2, w2 + c * o, x2[c]);
                step(p3, w3 + c * o, x3[c]);
            }
        }
    }
    for (int t = t0; t < cv.taps; ++t) {
        const float* xt = xt_of(t);
        const float* wt = wt_of(t);
        int c = 0;
        for (; c + 4 <= cv.in; c += 4) {
            step(p0, wt + c * o, xt[c]);
            step(p1, wt + (c + 1) * o, xt[c + 1]);
            step(p2, wt + (c + 2) * o, xt[c + 2]);
            step(p3, wt + (c + 3) * o, xt[c + 3]);
        }
        for (; c < cv.in; ++c) step(p0, wt + c * o, xt[c]);
    }
    for (int v = 0; v < NV; ++v) acc[0][v] = V::add(V::add(p0[v], p1[v]), V::add(p2[v], p3[v]));
}

/// acc[F][NV] += packed conv of F frames starting at x (frame stride `stride`), registers
/// z0 .. z0 + NV of the outputs.
template <int NV, int F>
VASHRINK_INLINE void conv_tile(const Conv& cv, const float* x, int stride, int z0, reg (&acc)[F][NV]) noexcept {
    if constexpr (F == 1) {
        conv_one<NV>(cv, x, stride, z0, acc);
    } else {
        for (int t = 0; t < cv.taps; ++t) {
            const float* xt = x + static_cast<std::ptrdiff_t>(cv.offsets[static_cast<std::size_t>(t)]) * stride;
            const float* wt = cv.w.data() + static_cast<std::size_t>(t) * cv.in * cv.outp + z0;
            for (int c = 0; c < cv.in; ++c) {
                reg wv[NV];
                for (int v = 0; v < NV; ++v) wv[v] = V::load(wt + static_cast<std::size_t>(c) * cv.outp + v * L);
                for (int f = 0; f < F; ++f) {
                    const reg xb = V::set1(xt[static_cast<std::ptrdiff_t>(f) * stride + c]);
                    for (int v = 0; v < NV; ++v) acc[f][v] = V::fma(xb, wv[v], acc[f][v]);
                }
            }
        }
    }
}

/// y[f] = bias (+ add[f]) + a(x)[f] (+ b(xb)[f]) for n frames; a second conv `b` (the input
/// mixin) is optional. Output frames have `ystride` floats; add frames `astride`.
template <int NV, int F>
VASHRINK_INLINE void run_tile(const Conv& a, const float* x, int xs, const Conv* b, const float* xb, int xbs,
                              const float* add, int as, float* y, int ys, int z0) noexcept {
    reg acc[F][NV];
    for (int f = 0; f < F; ++f)
        for (int v = 0; v < NV; ++v) {
            acc[f][v] = V::load(a.bias.data() + z0 + v * L);
            if (add != nullptr) acc[f][v] = V::add(acc[f][v], V::load(add + static_cast<std::ptrdiff_t>(f) * as + z0 + v * L));
        }
    conv_tile<NV, F>(a, x, xs, z0, acc);
    if (b != nullptr) conv_tile<NV, F>(*b, xb, xbs, z0, acc);
    for (int f = 0; f < F; ++f)
        for (int v = 0; v < NV; ++v) V::store(y + static_cast<std::ptrdiff_t>(f) * ys + z0 + v * L, acc[f][v]);
}

template <int NV>
void run_frames(const Conv& a, const float* x, int xs, const Conv* b, const float* xb, int xbs,
                const float* add, int as, float* y, int ys, int z0, int n) noexcept {
    // frames per tile: about 8 accumulator chains, within the 16 vector registers
    constexpr int F = NV == 1 ? 8 : NV == 2 ? 4 : 2;
    int f = 0;
    for (; f + F <= n; f += F)
        run_tile<NV, F>(a, x + static_cast<std::ptrdiff_t>(f) * xs, xs, b, xb + static_cast<std::ptrdiff_t>(f) * xbs, xbs,
                        add ? add + static_cast<std::ptrdiff_t>(f) * as : nullptr, as, y + static_cast<std::ptrdiff_t>(f) * ys, ys, z0);
    for (; f < n; ++f)
        run_tile<NV, 1>(a, x + static_cast<std::ptrdiff_t>(f) * xs, xs, b, xb + static_cast<std::ptrdiff_t>(f) * xbs, xbs,
                        add ? add + static_cast<std::ptrdiff_t>(f) * as : nullptr, as, y + static_cast<std::ptrdiff_t>(f) * ys, ys, z0);
}

/// All output registers of conv `a` (+ `b`) over n frames, in chunks of up to 4 registers.
inline void apply(const Conv& a, const float* x, int xs, const Conv* b, const float* xb, int xbs,
                  const float* add, int as, float* y, int ys, int n) noexcept {
    const int nv = a.outp / L;
    for (int v0 = 0; v0 < nv; v0 += 4) {
        const int z0 = v0 * L;
        switch (std::min(4, nv - v0)) {
            case 1: run_frames<1>(a, x, xs, b, xb, xbs, add, as, y, ys, z0, n); break;
            case 2: run_frames<2>(a, x, xs, b, xb, xbs, add, as, y, ys, z0, n); break;
            case 3: run_frames<3>(a, x, xs, b, xb, xbs, add, as, y, ys, z0, n); break;
            default: run_frames<4>(a, x, xs, b, xb, xbs, add, as, y, ys, z0, n); break;
        }
    }
}

/// A FiLM packed for the padded layout of what it modulates: logical channel c at pos(c) =
/// c < split ? c : split_at + (c - split) (a gated z's two halves), its scale at row pos(c) and
/// its shift at row span + pos(c) of the 1x1 conv of the condition; padded rows are zero.
struct Film {
    Conv cv;
    int span = 0;
    bool shift = false, active = false;

    void pack(const FilmSpec& s, int dim, int cond, int split, int split_at) {
        active = s.w != nullptr;
        if (!active) return;
        shift = s.shift;
        span = padded(split < dim ? split_at + dim - split : dim);
        const int rows = (shift ? 2 : 1) * span;
        std::vector<float> w(static_cast<std::size_t>(rows) * cond, 0.0f), b(static_cast<std::size_t>(rows), 0.0f);
        for (int h = 0; h < (shift ? 2 : 1); ++h)
            for (int c = 0; c < dim; ++c) {
                const std::size_t src = static_cast<std::size_t>(h * dim + c);
                const std::size_t dst = static_cast<std::size_t>(h * span + (c < split ? c : split_at + c - split));
                std::copy(s.w + src * cond, s.w + (src + 1) * cond, w.begin() + static_cast<std::ptrdiff_t>(dst * cond));
                b[dst] = s.b[src];
            }
        cv.pack(w.data(), b.data(), rows, cond, 1, 1);
    }

    /// y = x * s (+ t) over n frames (y may be x); `ss` holds n frames of cv.outp floats.
    void operator()(const float* cond, int cs, const float* x, int xs, float* y, int ys, float* ss, int n) const noexcept {
        apply(cv, cond, cs, nullptr, nullptr, 0, nullptr, 0, ss, cv.outp, n);
        for (int f = 0; f < n; ++f) {
            const float* sf = ss + static_cast<std::ptrdiff_t>(f) * cv.outp;
            const float* xf = x + static_cast<std::ptrdiff_t>(f) * xs;
            float* yf = y + static_cast<std::ptrdiff_t>(f) * ys;
            for (int v = 0; v < span; v += L) {
                const reg xv = V::load(xf + v), sv = V::load(sf + v);
                V::store(yf + v, shift ? V::fma(xv, sv, V::load(sf + span + v)) : V::mul(xv, sv));
            }
        }
    }
};

struct Layer;
/// A fused kernel for one layer (wavenet_small.h): (layer, h, h stride, condition, its stride,
/// head accumulator, its stride, next h, its stride, frames).
using SmallFn = void (*)(const Layer&, const float*, int, const float*, int, float*, int, float*, int, int) noexcept;

struct Layer {
    Conv conv, mixin, l1, h1;
    SmallFn small = nullptr;
    bool has_l1 = false, has_h1 = false, gated = false, blended = false;
    bool extended = false;  // FiLM or blending: the extended path (wavenet_film.h)
    int bottleneck = 0;
    Activation act, gate;
    Film film[n_film];
    Ring input;  // this layer's h, with (K - 1) d frames of history
    Ring pre;    // with a conv_pre FiLM: the modulated h the conv reads, with its history
    Rows rows;                 // the same, channel-major, for an array on the lanes path
    AlignedVector<float> ws;   // lanes path: conv weights as scalars [tap][in][out]
};

struct Array;
/// An array's lanes-path kernel (wavenet_lanes.h): (array, input, its stride, condition, its
/// stride, previous head or null, its stride, frames).
using LanesFn = void (*)(Array&, const float*, int, const float*, int, const float*, int, int) noexcept;

struct Array {
    Conv rechannel, head;
    std::vector<Layer> layers;
    Ring head_acc;                   // head accumulator, with the head conv's history
    AlignedVector<float> out, head_out;  // [kMaxBlock][C padded], [kMaxBlock][head padded]
    int channels = 0, head_in = 0, head_size = 0;
    LanesFn lanes_block = nullptr, lanes_one = nullptr;  // set: the array runs channel-major
    Rows head_rows, out_rows;
    AlignedVector<float> xin;  // the condition, copied and padded to whole registers
};

}  // namespace detail

}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
