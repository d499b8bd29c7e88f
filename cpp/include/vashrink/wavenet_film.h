#pragma once
// The WaveNet layers the fused and lanes paths do not take: FiLM at any of its eight positions
// and blended gating (NAM Core's NAM/wavenet/model.cpp, Layer::Process, read for the maths), and
// the post-stack head (NAM Core's detail::Head). Per block, on the padded frame layout of
// wavenet.h; every buffer is sized at load.

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "vashrink/wavenet_kernels.h"

namespace VASHRINK_NAMESPACE {
namespace wavenet {

/// One conv of the post-stack head (torch layout, bias required).
struct HeadConvSpec {
    int in = 0, out = 0, kernel = 1;
    const float* w = nullptr;  // [out][in][kernel]
    const float* b = nullptr;  // [out]
};

/// The post-stack head: per conv, x <- conv(act(x)); applied after head_scale.
struct PostHeadSpec {
    const HeadConvSpec* convs = nullptr;
    int n = 0;
    ActSpec act;  // PReLU: one slope, or one per channel of the head's input (convs[0].in)
};

namespace detail {

/// Scratch shared by the extended layers of one model (sized at load for the widest).
struct FilmScratch {
    AlignedVector<float> ss, m, t, condf;  // scale/shift, mixin, 1x1 output, modulated condition
    int ss_stride = 0, m_stride = 0, t_stride = 0, condf_stride = 0;

    void grow(int ss_w, int m_w, int t_w, int cf_w) {
        ss_stride = std::max(ss_stride, ss_w), m_stride = std::max(m_stride, m_w);
        t_stride = std::max(t_stride, t_w), condf_stride = std::max(condf_stride, cf_w);
    }
    void allocate() {
        const std::size_t n = kMaxBlock;
        ss.assign(n * static_cast<std::size_t>(std::max(ss_stride, 1)), 0.0f);
        m.assign(n * static_cast<std::size_t>(std::max(m_stride, 1)), 0.0f);
        t.assign(n * static_cast<std::size_t>(std::max(t_stride, 1)), 0.0f);
        condf.assign(n * static_cast<std::size_t>(std::max(condf_stride, 1)), 0.0f);
    }
};

/// Pack a layer's FiLMs and blending; returns "" or what was wrong. `cond`: the condition width.
inline std::string load_films(Layer& ly, const LayerSpec& y, int channels, int cond, FilmScratch& scratch) {
    const int b = ly.bottleneck, z = (y.gated ? 2 : 1) * b, bp = padded(b);
    const int h1 = y.head1x1_out;
    // dims and layouts: (channels modulated, split, split_at)
    const int dims[n_film] = {channels, z, cond, z, z, b, channels, h1};
    for (int at = 0; at < n_film; ++at) {
        const FilmSpec& s = y.film[at];
        if (s.w == nullptr) continue;
        if (s.b == nullptr) return "a FiLM has weights but no bias";
        if ((at == layer1x1_post && y.l1_w == nullptr) || (at == head1x1_post && h1 == 0))
            return "a FiLM after a missing 1x1 conv";
        const int rows = (s.shift ? 2 : 1) * dims[at];
        if (!all_finite(s.w, static_cast<std::size_t>(rows) * cond) || !all_finite(s.b, static_cast<std::size_t>(rows)))
            return "FiLM weights contain NaN or Inf";
        const bool split_z = y.gated && (at == conv_post || at == input_mixin_post || at == activation_pre);
        ly.film[at].pack(s, dims[at], cond, split_z ? b : dims[at], split_z ? bp : 0);
        scratch.grow(ly.film[at].cv.outp, 0, 0, 0);
    }
    ly.blended = y.gated && y.blended;
    ly.extended = ly.blended;
    for (const Film& f : ly.film) ly.extended = ly.extended || f.active;
    if (ly.film[conv_pre].active) ly.pre.init(channels, (y.kernel_size - 1) * y.dilation);
    scratch.grow(0, ly.conv.outp, padded(std::max({channels, h1, 1})), padded(cond));
    return "";
}

/// One extended layer over n frames: h (stride hs) -> z -> a; head accumulator += the head
/// contribution; next = h + layer 1x1 (or h). `z` (stride zs) is the model's scratch.
inline void extended_layer(Layer& ly, const float* h, int hs, const float* cond, int cs, float* acc, int as,
                           float* next, int ns, float* z, int zs, FilmScratch& w, int n) noexcept {
    float* ss = w.ss.data();
    const Film* fm = ly.film;
    // the conv's input: h, or h modulated into its own history ring
    const float* xin = h;
    int xs = hs;
    if (fm[conv_pre].active) {
        ly.pre.begin(n);
        fm[conv_pre](cond, cs, h, hs, ly.pre.now(), ly.pre.stride, ss, n);
        xin = ly.pre.now();
        xs = ly.pre.stride;
    }
    // the mixin, of the condition or the modulated condition (padded: cs is whole registers)
    const float* mc = cond;
    int mcs = cs;
    if (fm[input_mixin_pre].active) {
        fm[input_mixin_pre](cond, cs, cond, cs, w.condf.data(), w.condf_stride, ss, n);
        mc = w.condf.data();
        mcs = w.condf_stride;
    }
    float* m = w.m.data();
    apply(ly.mixin, mc, mcs, nullptr, nullptr, 0, nullptr, 0, m, w.m_stride, n);
    if (fm[input_mixin_post].active) fm[input_mixin_post](cond, cs, m, w.m_stride, m, w.m_stride, ss, n);
    if (fm[conv_post].active) {
        apply(ly.conv, xin, xs, nullptr, nullptr, 0, nullptr, 0, z, zs, n);
        fm[conv_post](cond, cs, z, zs, z, zs, ss, n);
        for (int f = 0; f < n; ++f)
            for (int v = 0; v < ly.conv.outp; v += L) {
                float* zf = z + static_cast<std::ptrdiff_t>(f) * zs + v;
                V::store(zf, V::add(V::load(zf), V::load(m + static_cast<std::ptrdiff_t>(f) * w.m_stride + v)));
            }
    } else {
        apply(ly.conv, xin, xs, nullptr, nullptr, 0, m, w.m_stride, z, zs, n);
    }
    if (fm[activation_pre].active) fm[activation_pre](cond, cs, z, zs, z, zs, ss, n);
    const int nb = padded(ly.bottleneck) / L;
    for (int f = 0; f < n; ++f) {
        float* zf = z + static_cast<std::ptrdiff_t>(f) * zs;
        for (int v = 0; v < nb; ++v) {
            const reg z1 = V::load(zf + v * L);
            reg a = ly.act(z1, v);
            if (ly.gated) {
                const reg g = ly.gate(V::load(zf + (nb + v) * L), v);
                a = ly.blended ? V::fma(g, a, V::mul(V::sub(V::set1(1.0f), g), z1)) : V::mul(a, g);
            }
            V::store(zf + v * L, a);
        }
    }
    if (fm[activation_post].active) fm[activation_post](cond, cs, z, zs, z, zs, ss, n);
    float* t = w.t.data();
    const int ts = w.t_stride;
    const auto add_into = [n](float* dst, int ds, const float* src, int srcs, int width) {
        for (int f = 0; f < n; ++f)
            for (int v = 0; v < width; v += L) {
                float* d = dst + static_cast<std::ptrdiff_t>(f) * ds + v;
                V::store(d, V::add(V::load(d), V::load(src + static_cast<std::ptrdiff_t>(f) * srcs + v)));
            }
    };
    if (ly.has_h1) {
        apply(ly.h1, z, zs, nullptr, nullptr, 0, nullptr, 0, t, ts, n);
        if (fm[head1x1_post].active) fm[head1x1_post](cond, cs, t, ts, t, ts, ss, n);
        add_into(acc, as, t, ts, ly.h1.outp);
    } else {
        add_into(acc, as, z, zs, nb * L);  // padded lanes of z hold act(0), never read by the head
    }
    if (ly.has_l1) {
        if (fm[layer1x1_post].active) {
            apply(ly.l1, z, zs, nullptr, nullptr, 0, nullptr, 0, t, ts, n);
            fm[layer1x1_post](cond, cs, t, ts, t, ts, ss, n);
            for (int f = 0; f < n; ++f)
                for (int v = 0; v < ly.l1.outp; v += L)
                    V::store(next + static_cast<std::ptrdiff_t>(f) * ns + v,
                             V::add(V::load(h + static_cast<std::ptrdiff_t>(f) * hs + v),
                                    V::load(t + static_cast<std::ptrdiff_t>(f) * ts + v)));
        } else {
            apply(ly.l1, z, zs, nullptr, nullptr, 0, h, hs, next, ns, n);
        }
    } else {
        for (int f = 0; f < n; ++f)
            std::copy(h + static_cast<std::ptrdiff_t>(f) * hs, h + static_cast<std::ptrdiff_t>(f) * hs + hs,
                      next + static_cast<std::ptrdiff_t>(f) * ns);
    }
    if (fm[conv_pre].active) ly.pre.pos += n;
}

/// The post-stack head: rings (each conv's input, with its history), convs, one activation
/// (per-channel PReLU slopes: every conv's input has the first's width, as NAM Core needs).
struct PostHead {
    std::vector<Ring> in;
    std::vector<Conv> conv;
    Activation act;
    AlignedVector<float> out;  // [kMaxBlock][out padded]
    int out_size = 0;

    bool active() const noexcept { return !conv.empty(); }
    void reset() noexcept {
        for (auto& r : in) r.reset();
    }

    std::string load(const PostHeadSpec& s, int in_size) {
        in.clear(), conv.clear();
        if (s.n < 1 || s.n > 64 || s.convs == nullptr) return "the post-stack head needs 1..64 convs";
        if (s.convs[0].in != in_size)  // before the slopes (convs[0].in values) are read
            return "post-stack head conv 0: sizes do not chain (in " + std::to_string(s.convs[0].in) +
                   ", expected " + std::to_string(in_size) + ")";
        std::string error;
        if (!act.load(s.act, in_size, error)) return "post-stack head: " + error;
        in.resize(static_cast<std::size_t>(s.n));
        conv.resize(static_cast<std::size_t>(s.n));
        int cin = in_size;
        for (int i = 0; i < s.n; ++i) {
            const HeadConvSpec& c = s.convs[i];
            const std::string at = "post-stack head conv " + std::to_string(i) + ": ";
            if (c.in != cin || c.out < 1 || c.out > kMaxChannels || c.kernel < 1 || c.kernel > 1024)
                return at + "sizes do not chain (in " + std::to_string(c.in) + ", expected " + std::to_string(cin) + ")";
            if (c.w == nullptr || c.b == nullptr) return at + "weights missing";
            if (!act.slopes.empty() && c.in != in_size)  // slopes[channel] needs equal widths
                return at + "per-channel PReLU slopes for " + std::to_string(in_size) +
                       " channels, but this conv takes " + std::to_string(c.in);
            if (!all_finite(c.w, static_cast<std::size_t>(c.out) * c.in * c.kernel) ||
                !all_finite(c.b, static_cast<std::size_t>(c.out)))
                return at + "weights contain NaN or Inf";
            conv[static_cast<std::size_t>(i)].pack(c.w, c.b, c.out, c.in, c.kernel, 1);
            in[static_cast<std::size_t>(i)].init(c.in, c.kernel - 1);
            cin = c.out;
        }
        out_size = cin;
        out.assign(static_cast<std::size_t>(kMaxBlock) * padded(cin), 0.0f);
        return "";
    }

    int receptive_field() const noexcept {
        int rf = 0;
        for (const auto& c : conv) rf += c.taps - 1;
        return rf;
    }

    /// x (stride xs, `width` channels) * scale through the head into `out`.
    void run(const float* x, int xs, int width, float scale, int n) noexcept {
        for (std::size_t i = 0; i < conv.size(); ++i) {
            Ring& r = in[i];
            r.begin(n);
            float* now = r.now();
            if (i == 0) {
                for (int f = 0; f < n; ++f)
                    for (int c = 0; c < width; ++c)
                        now[static_cast<std::ptrdiff_t>(f) * r.stride + c] = scale * x[static_cast<std::ptrdiff_t>(f) * xs + c];
            }
            for (int f = 0; f < n; ++f)  // whole registers: the conv reads only its `in` channels
                for (int v = 0; v < r.stride; v += L) {
                    float* p = now + static_cast<std::ptrdiff_t>(f) * r.stride + v;
                    V::store(p, act(V::load(p), v / L));
                }
            float* y = out.data();
            int ys = padded(out_size);
            if (i + 1 < conv.size()) {
                in[i + 1].begin(n);
                y = in[i + 1].now();
                ys = in[i + 1].stride;
            }
            apply(conv[i], now, r.stride, nullptr, nullptr, 0, nullptr, 0, y, ys, n);
            r.pos += n;
        }
    }
};

}  // namespace detail
}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
