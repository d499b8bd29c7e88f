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
// accumulators; 8, 4 or 2 frames (for 1, 2 or 3+ output registers) are computed together so
// about eight FMA chains are in flight (wavenet_kernels.h).
//
// Activations are NAM Core's (NAM/activations.h): tanh and sigmoid with vmath.h's vectorised
// exp (|error| <= 1.3e-7), the piecewise ones exact.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "vashrink/config.h"
#include "vashrink/storage.h"
#include "vashrink/wavenet_film.h"
#include "vashrink/wavenet_kernels.h"
#include "vashrink/wavenet_lanes.h"
#include "vashrink/wavenet_small.h"

namespace VASHRINK_NAMESPACE {
namespace wavenet {


/// A loaded WaveNet. Create empty, load(), then process(); not thread-safe.
class WaveNet {
public:
    /// `condition`: a loaded WaveNet whose output channels feed every input mixin (NAM Core's
    /// condition DSP; each array's cond_size must equal its out_size()), or null: the input.
    /// `head`: a post-stack head after head_scale (NAM Core's), or null.
    Status load(const ArraySpec* arrays, int n_arrays, float head_scale, std::unique_ptr<WaveNet> condition = nullptr,
                const PostHeadSpec* head = nullptr);

    bool loaded() const noexcept { return !arrays_.empty(); }
    void clear() noexcept {
        arrays_.clear();
        condition_.reset();
        post_.in.clear(), post_.conv.clear();
        post_.out_size = 0;
    }
    /// Output channels (the post-stack head's, or the last array's head_size); process/forward
    /// give the first.
    int out_size() const noexcept {
        return arrays_.empty() ? 0 : post_.active() ? post_.out_size : arrays_.back().head_size;
    }

    /// Zero every buffer (the state after load).
    void reset() noexcept {
        if (condition_) condition_->reset();
        post_.reset();
        for (auto& a : arrays_) {
            a.head_acc.reset();
            a.head_rows.reset();
            a.out_rows.reset();
            for (auto& l : a.layers) l.input.reset(), l.rows.reset(), l.pre.reset();
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
    /// Whether small arrays may take the channel-major lanes path (wavenet_lanes.h); set before
    /// load(). On by default; off runs every array on the general path (tests compare both).
    void set_lanes(bool on) noexcept { lanes_enabled_ = on; }
    int n_layers() const noexcept {
        int n = 0;
        for (const auto& a : arrays_) n += static_cast<int>(a.layers.size());
        return n;
    }

private:
    void block(const float* x, float* y, int n) noexcept;
    /// The arrays over n <= kMaxBlock frames of x, the mixins reading cond (frame stride cs);
    /// leaves the last array's unscaled head output in arrays_.back().head_out.
    void run(const float* x, const float* cond, int cs, int n) noexcept;
    /// Every output channel, head_scale (and the post-stack head) applied, into dst (frame
    /// stride ds).
    void outputs(const float* x, int n, float* dst, int ds) noexcept;
    /// The arrays (and the post-stack head) over n frames of x: the output frames, their stride
    /// and the scale still to apply.
    const float* forward_block(const float* x, int n, int& stride, float& scale) noexcept;

    std::vector<detail::Array> arrays_;
    std::unique_ptr<WaveNet> condition_;
    AlignedVector<float> cond_;  // [kMaxBlock][condition's outputs padded], or the input padded
    int cond_stride_ = 0;
    bool pad_input_ = false;     // no condition DSP but FiLM: the input copied to whole registers
    detail::FilmScratch film_;
    detail::PostHead post_;
    float one_[kMaxBlock] = {};
    AlignedVector<float> z_;  // [kMaxBlock][Z padded], the widest layer's
    int zstride_ = 0;
    bool lanes_enabled_ = true;
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
        if (!all_finite(y.conv_w, z * c * y.kernel_size) || !all_finite(y.conv_b, z) || !all_finite(y.mixin_w, z * static_cast<std::size_t>(s.cond_size)) ||
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

inline Status WaveNet::load(const ArraySpec* arrays, int n_arrays, float head_scale, std::unique_ptr<WaveNet> condition,
                            const PostHeadSpec* head) {
    using namespace detail;
    clear();
    if (condition != nullptr && !condition->loaded()) return Status::error("the condition DSP is not loaded");
    const int cond_size = condition ? condition->out_size() : 1;
    if (arrays == nullptr || n_arrays < 1 || n_arrays > 64) return Status::error("the model needs 1..64 layer arrays");
    if (!std::isfinite(head_scale)) return Status::error("head_scale is NaN or Inf");
    int prev_c = 0, prev_h = 0, zmax = 0, rf = 1;
    bool any_extended = false;
    film_ = FilmScratch{};
    for (int k = 0; k < n_arrays; ++k) {
        const std::string e = check_array(arrays[k], k, prev_c, prev_h);
        if (!e.empty()) return Status::error(e);
        if (arrays[k].cond_size != cond_size)
            return Status::error("layer array " + std::to_string(k) + ": cond_size " + std::to_string(arrays[k].cond_size) +
                                 " != the condition's channels (" + std::to_string(cond_size) + ")");
        prev_c = arrays[k].channels;
        prev_h = arrays[k].head_size;
    }
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
                const std::size_t m = static_cast<std::size_t>(s.cond_size);
                std::vector<float> cb(static_cast<std::size_t>(2 * bp), 0.0f), mw(2 * static_cast<std::size_t>(bp) * m, 0.0f);
                const std::size_t row = static_cast<std::size_t>(s.channels) * y.kernel_size;
                for (int h = 0; h < 2; ++h)
                    for (int o = 0; o < s.bottleneck; ++o) {
                        const std::size_t src = static_cast<std::size_t>(h * s.bottleneck + o), dst = static_cast<std::size_t>(h * bp + o);
                        std::copy(y.conv_w + src * row, y.conv_w + (src + 1) * row, cw.begin() + static_cast<std::ptrdiff_t>(dst * row));
                        cb[dst] = y.conv_b[src];
                        std::copy(y.mixin_w + src * m, y.mixin_w + (src + 1) * m, mw.begin() + static_cast<std::ptrdiff_t>(dst * m));
                    }
                ly.conv.pack(cw.data(), cb.data(), 2 * bp, s.channels, y.kernel_size, y.dilation);
                ly.mixin.pack(mw.data(), nullptr, 2 * bp, s.cond_size, 1, 1);
            } else {
                ly.conv.pack(y.conv_w, y.conv_b, z, s.channels, y.kernel_size, y.dilation);
                ly.mixin.pack(y.mixin_w, nullptr, z, s.cond_size, 1, 1);
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
            const std::string fe = load_films(ly, y, s.channels, s.cond_size, film_);
            if (!fe.empty()) return Status::error("layer array " + std::to_string(k) + ": layer " + std::to_string(l) + ": " + fe);
            any_extended = any_extended || ly.extended;
            ly.small = ly.extended ? nullptr : small_kernel(ly, s.channels);
            rf += (y.kernel_size - 1) * y.dilation;
        }
        if (lanes_enabled_) lanes_setup(a);
    }
    if (head != nullptr) {
        const std::string he = post_.load(*head, built.back().head_size);
        if (!he.empty()) return Status::error(he);
        rf += post_.receptive_field();
    }
    z_.assign(static_cast<std::size_t>(kMaxBlock) * zmax, 0.0f);
    zstride_ = zmax;
    head_scale_ = head_scale;
    film_.allocate();
    pad_input_ = any_extended && !condition;
    if (condition || pad_input_) {
        if (condition) rf += condition->receptive_field() - 1;
        cond_stride_ = padded(cond_size);
        cond_.assign(static_cast<std::size_t>(kMaxBlock) * cond_stride_, 0.0f);
        condition_ = std::move(condition);
    }
    receptive_field_ = rf;
    arrays_ = std::move(built);
    return {};
}

inline const float* WaveNet::forward_block(const float* x, int n, int& stride, float& scale) noexcept {
    using namespace detail;
    if (condition_) {
        condition_->outputs(x, n, cond_.data(), cond_stride_);
        run(x, cond_.data(), cond_stride_, n);
    } else if (pad_input_) {
        for (int f = 0; f < n; ++f) cond_[static_cast<std::size_t>(f) * cond_stride_] = x[f];
        run(x, cond_.data(), cond_stride_, n);
    } else {
        run(x, x, 1, n);
    }
    const Array& last = arrays_.back();
    if (post_.active()) {
        post_.run(last.head_out.data(), padded(last.head_size), last.head_size, head_scale_, n);
        stride = padded(post_.out_size);
        scale = 1.0f;
        return post_.out.data();
    }
    stride = padded(last.head_size);
    scale = head_scale_;
    return last.head_out.data();
}

inline void WaveNet::outputs(const float* x, int n, float* dst, int ds) noexcept {
    int os = 0;
    float scale = 1.0f;
    const float* out = forward_block(x, n, os, scale);
    const int width = out_size();
    for (int f = 0; f < n; ++f)
        for (int c = 0; c < width; ++c)
            dst[static_cast<std::ptrdiff_t>(f) * ds + c] = scale * out[static_cast<std::ptrdiff_t>(f) * os + c];
}

inline void WaveNet::block(const float* x, float* y, int n) noexcept {
    int os = 0;
    float scale = 1.0f;
    const float* out = forward_block(x, n, os, scale);
    for (int f = 0; f < n; ++f) y[f] = scale * out[static_cast<std::ptrdiff_t>(f) * os];
}

inline void WaveNet::run(const float* x, const float* cond, int cns, int n) noexcept {
    using namespace detail;
    const float* in = x;
    int in_stride = 1;
    const float* prev_head = nullptr;
    int prev_head_stride = 0;
    for (auto& a : arrays_) {
        if (a.lanes_block != nullptr) {
            (n == 1 ? a.lanes_one : a.lanes_block)(a, in, in_stride, cond, cns, prev_head, prev_head_stride, n);
            in = a.out.data();
            in_stride = padded(a.channels);
            prev_head = a.head_out.data();
            prev_head_stride = padded(a.head_size);
            continue;
        }
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
            if (ly.small != nullptr) {
                ly.small(ly, h, cs, cond, cns, acc, hs, next, ns, n);
                r.pos += n;
                continue;
            }
            if (ly.extended) {
                extended_layer(ly, h, cs, cond, cns, acc, hs, next, ns, z_.data(), zstride_, film_, n);
                r.pos += n;
                continue;
            }
            apply(ly.conv, h, cs, &ly.mixin, cond, cns, nullptr, 0, z_.data(), zstride_, n);
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
}

}  // namespace wavenet
}  // namespace VASHRINK_NAMESPACE
