#pragma once
// A WaveNet (Neural Amp Modeler's "A1"/"A2" architecture) in float32, run per sample or per
// block. The maths is python/vashrink/model/wavenet.py's; weights are given dense in torch layout
// (grouped convolutions expanded by the loader) and validated at load. After load() nothing
// allocates: process() splits blocks longer than kMaxBlock internally.
//
// Data layout. Every per-frame vector (a layer's input h, its pre-activation z, the head
// accumulator) is padded to whole registers and stored frame after frame. Each dilated conv
// reads its input from a linear "ring": `hist` past frames followed by the current block; when
// the block would run off the end, the last `hist` frames are copied to the front (NAM Core's
// rewind scheme, one copy every ~hist frames). Weights are packed [tap][in][out padded] so a
// conv is, per frame, a sum of broadcast(input) * weight-register FMAs into register
// accumulators; 4 frames are computed together so 4 x (out registers) chains are in flight.
//
// Activations are NAM Core's (NAM/activations.h): tanh and sigmoid with vmath.h's vectorised
// exp (|error| <= 1.3e-7), the piecewise ones exact.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

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

/// One layer as handed to the loader (pointers only read during load).
struct LayerSpec {
    int kernel_size = 0, dilation = 0;
    bool gated = false;
    ActSpec act, gate;
    const float* conv_w = nullptr;   // [Z][C][K], Z = B or 2 B gated
    const float* conv_b = nullptr;   // [Z]
    const float* mixin_w = nullptr;  // [Z] (one condition channel)
    const float* l1_w = nullptr;     // [C][B] or null (no layer 1x1: h passes unchanged)
    const float* l1_b = nullptr;     // [C]
    int head1x1_out = 0;             // 0: the activation itself goes to the head
    const float* h1_w = nullptr;     // [H1][B]
    const float* h1_b = nullptr;     // [H1]
};

struct ArraySpec {
    int input_size = 0, channels = 0, bottleneck = 0;
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

using V = simd::Ops<float>;
using reg = V::reg;
inline constexpr int L = V::lanes;

inline int padded(int n) noexcept { return (n + L - 1) / L * L; }

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

struct Layer {
    Conv conv, mixin, l1, h1;
    bool has_l1 = false, has_h1 = false, gated = false;
    int bottleneck = 0;
    Activation act, gate;
    Ring input;  // this layer's h, with (K - 1) d frames of history
};

struct Array {
    Conv rechannel, head;
    std::vector<Layer> layers;
    Ring head_acc;                   // head accumulator, with the head conv's history
    AlignedVector<float> out, head_out;  // [kMaxBlock][C padded], [kMaxBlock][head padded]
    int channels = 0, head_in = 0, head_size = 0;
};

}  // namespace detail

/// A loaded WaveNet. Create empty, load(), then process(); not thread-safe.
class WaveNet {
public:
    Status load(const ArraySpec* arrays, int n_arrays, float head_scale);

    bool loaded() const noexcept { return !arrays_.empty(); }
    void clear() noexcept { arrays_.clear(); }

    /// Zero every buffer (the state after load).
    void reset() noexcept {
        for (auto& a : arrays_) {
            a.head_acc.reset();
            for (auto& l : a.layers) l.input.reset();
        }
    }

    /// y[i] for x[i], i < n, continuing the stream; any n.
    void process(const float* x, float* y, int n) noexcept {
        for (int off = 0; off < n; off += kMaxBlock) block(x + off, y + off, std::min(kMaxBlock, n - off));
    }

    float forward(float x) noexcept {
        float y = 0.0f;
        one_[0] = x;  // a member buffer, not &x: the kernels read inputs as arrays
        block(one_, &y, 1);
        return y;
    }

    int receptive_field() const noexcept { return receptive_field_; }
    int n_layers() const noexcept {
        int n = 0;
        for (const auto& a : arrays_) n += static_cast<int>(a.layers.size());
        return n;
    }

private:
    void block(const float* x, float* y, int n) noexcept;

    std::vector<detail::Array> arrays_;
    float one_[kMaxBlock] = {};
    AlignedVector<float> z_;  // [kMaxBlock][Z padded], the widest layer's
    int zstride_ = 0;
    float head_scale_ = 1.0f;
    int receptive_field_ = 0;
};

namespace detail {

inline std::string check_array(const ArraySpec& s, int k, int prev_channels, int prev_head) {
    const std::string where = "layer array " + std::to_string(k) + ": ";
    if (s.input_size < 1 || s.channels < 1 || s.bottleneck < 1 || s.head_size < 1 || s.n_layers < 1 ||
        s.input_size > kMaxChannels || s.channels > kMaxChannels || s.bottleneck > kMaxChannels ||
        s.head_size > kMaxChannels || s.head_kernel < 1 || s.head_dilation < 1)
        return where + "sizes must be 1.." + std::to_string(kMaxChannels) + " and it needs layers";
    if (s.rechannel == nullptr || s.layers == nullptr || s.head_w == nullptr) return where + "weights missing";
    if (k == 0 && s.input_size != 1) return where + "the first array takes the 1-channel input";
    if (k > 0 && s.input_size != prev_channels)
        return where + "input_size " + std::to_string(s.input_size) + " != channels of the array before (" +
               std::to_string(prev_channels) + ")";
    const int head_in = s.layers[0].head1x1_out > 0 ? s.layers[0].head1x1_out : s.bottleneck;
    if (k > 0 && head_in != prev_head)
        return where + "head input " + std::to_string(head_in) + " != head_size of the array before (" +
               std::to_string(prev_head) + ")";
    for (int l = 0; l < s.n_layers; ++l) {
        const LayerSpec& y = s.layers[l];
        const std::string at = where + "layer " + std::to_string(l) + ": ";
        if (y.kernel_size < 1 || y.dilation < 1 || y.kernel_size > 1024 || y.dilation > (1 << 16))
            return at + "kernel_size and dilation must be positive";
        if ((y.head1x1_out > 0 ? y.head1x1_out : s.bottleneck) != head_in)
            return at + "every layer must give the head the same number of channels";
        if (y.conv_w == nullptr || y.conv_b == nullptr || y.mixin_w == nullptr ||
            (y.l1_w != nullptr) != (y.l1_b != nullptr) || (y.head1x1_out > 0 && (!y.h1_w || !y.h1_b)))
            return at + "weights missing";
        if (y.l1_w == nullptr && s.bottleneck != s.channels)
            return at + "without a layer 1x1 the bottleneck must equal the channels";
        const std::size_t z = static_cast<std::size_t>(y.gated ? 2 : 1) * s.bottleneck;
        const std::size_t c = static_cast<std::size_t>(s.channels), b = static_cast<std::size_t>(s.bottleneck);
        if (!all_finite(y.conv_w, z * c * y.kernel_size) || !all_finite(y.conv_b, z) || !all_finite(y.mixin_w, z) ||
            (y.l1_w && (!all_finite(y.l1_w, c * b) || !all_finite(y.l1_b, c))) ||
            (y.head1x1_out > 0 && (!all_finite(y.h1_w, y.head1x1_out * b) || !all_finite(y.h1_b, y.head1x1_out))))
            return at + "weights contain NaN or Inf";
    }
    const std::size_t hw = static_cast<std::size_t>(s.head_size) * head_in * s.head_kernel;
    if (!all_finite(s.rechannel, static_cast<std::size_t>(s.channels) * s.input_size) ||
        !all_finite(s.head_w, hw) || (s.head_b && !all_finite(s.head_b, static_cast<std::size_t>(s.head_size))))
        return where + "weights contain NaN or Inf";
    return "";
}

}  // namespace detail

inline Status WaveNet::load(const ArraySpec* arrays, int n_arrays, float head_scale) {
    using namespace detail;
    clear();
    if (arrays == nullptr || n_arrays < 1 || n_arrays > 64) return Status::error("the model needs 1..64 layer arrays");
    if (!std::isfinite(head_scale)) return Status::error("head_scale is NaN or Inf");
    int prev_c = 0, prev_h = 0, zmax = 0, rf = 1;
    for (int k = 0; k < n_arrays; ++k) {
        const std::string e = check_array(arrays[k], k, prev_c, prev_h);
        if (!e.empty()) return Status::error(e);
        prev_c = arrays[k].channels;
        prev_h = arrays[k].head_size;
    }
    if (arrays[n_arrays - 1].head_size != 1) return Status::error("the last layer array must have head_size 1");
    std::vector<Array> built(static_cast<std::size_t>(n_arrays));
    for (int k = 0; k < n_arrays; ++k) {
        const ArraySpec& s = arrays[k];
        Array& a = built[static_cast<std::size_t>(k)];
        a.channels = s.channels;
        a.head_in = s.layers[0].head1x1_out > 0 ? s.layers[0].head1x1_out : s.bottleneck;
        a.head_size = s.head_size;
        a.rechannel.pack(s.rechannel, nullptr, s.channels, s.input_size, 1, 1);
        a.head.pack(s.head_w, s.head_b, s.head_size, a.head_in, s.head_kernel, s.head_dilation);
        a.head_acc.init(a.head_in, (s.head_kernel - 1) * s.head_dilation);
        rf += (s.head_kernel - 1) * s.head_dilation;
        a.out.assign(static_cast<std::size_t>(kMaxBlock) * padded(s.channels), 0.0f);
        a.head_out.assign(static_cast<std::size_t>(kMaxBlock) * padded(s.head_size), 0.0f);
        a.layers.resize(static_cast<std::size_t>(s.n_layers));
        for (int l = 0; l < s.n_layers; ++l) {
            const LayerSpec& y = s.layers[l];
            Layer& ly = a.layers[static_cast<std::size_t>(l)];
            const int z = (y.gated ? 2 : 1) * s.bottleneck;
            ly.gated = y.gated;
            ly.bottleneck = s.bottleneck;
            if (y.gated) {  // pad each half separately: z rows [0, B) and [Bp, Bp + B)
                const int bp = padded(s.bottleneck);
                std::vector<float> cw(static_cast<std::size_t>(2 * bp) * s.channels * y.kernel_size, 0.0f);
                std::vector<float> cb(static_cast<std::size_t>(2 * bp), 0.0f), mw(static_cast<std::size_t>(2 * bp), 0.0f);
                const std::size_t row = static_cast<std::size_t>(s.channels) * y.kernel_size;
                for (int h = 0; h < 2; ++h)
                    for (int o = 0; o < s.bottleneck; ++o) {
                        const std::size_t src = static_cast<std::size_t>(h * s.bottleneck + o), dst = static_cast<std::size_t>(h * bp + o);
                        std::copy(y.conv_w + src * row, y.conv_w + (src + 1) * row, cw.begin() + static_cast<std::ptrdiff_t>(dst * row));
                        cb[dst] = y.conv_b[src];
                        mw[dst] = y.mixin_w[src];
                    }
                ly.conv.pack(cw.data(), cb.data(), 2 * bp, s.channels, y.kernel_size, y.dilation);
                ly.mixin.pack(mw.data(), nullptr, 2 * bp, 1, 1, 1);
            } else {
                ly.conv.pack(y.conv_w, y.conv_b, z, s.channels, y.kernel_size, y.dilation);
                ly.mixin.pack(y.mixin_w, nullptr, z, 1, 1, 1);
            }
            zmax = std::max(zmax, ly.conv.outp);
            std::string error;
            if (!ly.act.load(y.act, s.bottleneck, error) || (y.gated && !ly.gate.load(y.gate, s.bottleneck, error)))
                return Status::error("layer array " + std::to_string(k) + ": layer " + std::to_string(l) + ": " + error);
            ly.has_l1 = y.l1_w != nullptr;
            if (ly.has_l1) ly.l1.pack(y.l1_w, y.l1_b, s.channels, s.bottleneck, 1, 1);
            ly.has_h1 = y.head1x1_out > 0;
            if (ly.has_h1) ly.h1.pack(y.h1_w, y.h1_b, y.head1x1_out, s.bottleneck, 1, 1);
            ly.input.init(s.channels, (y.kernel_size - 1) * y.dilation);
            rf += (y.kernel_size - 1) * y.dilation;
        }
    }
    z_.assign(static_cast<std::size_t>(kMaxBlock) * zmax, 0.0f);
    zstride_ = zmax;
    head_scale_ = head_scale;
    receptive_field_ = rf;
    arrays_ = std::move(built);
    return {};
}

inline void WaveNet::block(const float* x, float* y, int n) noexcept {
    using namespace detail;
    const float* in = x;
    int in_stride = 1;
    const float* prev_head = nullptr;
    int prev_head_stride = 0;
    for (auto& a : arrays_) {
        // the head accumulator starts from zero, or from the previous array's head output
        a.head_acc.begin(n);
        float* acc = a.head_acc.now();
        const int hs = a.head_acc.stride;
        for (int f = 0; f < n; ++f) {
            float* row = acc + static_cast<std::ptrdiff_t>(f) * hs;
            if (prev_head)
                std::copy(prev_head + static_cast<std::ptrdiff_t>(f) * prev_head_stride,
                          prev_head + static_cast<std::ptrdiff_t>(f) * prev_head_stride + hs, row);
            else
                std::fill(row, row + hs, 0.0f);
        }
        Ring& first = a.layers.front().input;
        first.begin(n);
        apply(a.rechannel, in, in_stride, nullptr, nullptr, 0, nullptr, 0, first.now(), first.stride, n);
        for (std::size_t l = 0; l < a.layers.size(); ++l) {
            Layer& ly = a.layers[l];
            Ring& r = ly.input;
            float* h = r.now();
            const int cs = r.stride;
            apply(ly.conv, h, cs, &ly.mixin, x, 1, nullptr, 0, z_.data(), zstride_, n);
            const int nb = padded(ly.bottleneck) / L;
            for (int f = 0; f < n; ++f) {
                float* zf = z_.data() + static_cast<std::ptrdiff_t>(f) * zstride_;
                for (int v = 0; v < nb; ++v) {
                    reg t = ly.act(V::load(zf + v * L), v);
                    if (ly.gated) t = V::mul(t, ly.gate(V::load(zf + (nb + v) * L), v));
                    V::store(zf + v * L, t);
                }
            }
            if (ly.has_h1) {
                apply(ly.h1, z_.data(), zstride_, nullptr, nullptr, 0, acc, hs, acc, hs, n);
            } else {
                // whole registers: padded lanes of z hold act(0) (finite), never read by the head
                for (int f = 0; f < n; ++f) {
                    float* hr = acc + static_cast<std::ptrdiff_t>(f) * hs;
                    const float* zf = z_.data() + static_cast<std::ptrdiff_t>(f) * zstride_;
                    for (int v = 0; v < nb; ++v) V::store(hr + v * L, V::add(V::load(hr + v * L), V::load(zf + v * L)));
                }
            }
            float* next;
            int ns;
            if (l + 1 < a.layers.size()) {
                Ring& nr = a.layers[l + 1].input;
                nr.begin(n);
                next = nr.now();
                ns = nr.stride;
            } else {
                next = a.out.data();
                ns = padded(a.channels);
            }
            if (ly.has_l1) {
                apply(ly.l1, z_.data(), zstride_, nullptr, nullptr, 0, h, cs, next, ns, n);
            } else {
                for (int f = 0; f < n; ++f)
                    std::copy(h + static_cast<std::ptrdiff_t>(f) * cs, h + static_cast<std::ptrdiff_t>(f) * cs + cs,
                              next + static_cast<std::ptrdiff_t>(f) * ns);
            }
            r.pos += n;
        }
        const int hos = padded(a.head_size);
        apply(a.head, acc, hs, nullptr, nullptr, 0, nullptr, 0, a.head_out.data(), hos, n);
        a.head_acc.pos += n;
        in = a.out.data();
        in_stride = padded(a.channels);
        prev_head = a.head_out.data();
        prev_head_stride = hos;
    }
    const float* out = arrays_.back().head_out.data();
    const int os = padded(arrays_.back().head_size);
    for (int f = 0; f < n; ++f) y[f] = head_scale_ * out[static_cast<std::ptrdiff_t>(f) * os];
}

}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
