#pragma once
// Dense-layer kernels shared by the run-time and the compile-time models.
//
// Per sample (y = act(W x + b) for one x): weights are packed for the lanes so that each output
// register is accumulated in a register over the whole input loop: broadcast one input, one FMA
// per register of outputs. Output registers are processed in tiles of up to 4 and each tile
// splits its input loop over S independent accumulator sets (NV * S >= 8 FMAs in flight: FMA
// latency 4 x 2 ports), summed at the end. A single-output layer is a dot product instead.
//
// Per block (Y = act(W X + b) for a block of samples, X laid out [unit][sample]): lanes run over
// samples; a 4-unit x 2-register tile keeps 8 accumulators live, each weight is broadcast once
// per input, each input register is loaded once per tile.

#include <algorithm>
#include <cstddef>

#include "vashrink/activation.h"
#include "vashrink/config.h"

namespace VASHRINK_NAMESPACE::dense {

/// Number of T values the per-sample packed weights of an in x out layer take.
template <typename T>
constexpr std::size_t packed_size(int in, int out) noexcept {
    return out == 1 ? static_cast<std::size_t>(simd::padded<T>(in))
                    : static_cast<std::size_t>(simd::padded<T>(out)) * static_cast<std::size_t>(in);
}

/// Output registers per tile: tiles of at most 4 registers, balanced (6 -> 3 + 3, 5 -> 3 + 2).
struct Tiling {
    int tiles;
    int base;
    int extra;
};
constexpr Tiling tiling(int n_vectors) noexcept {
    const int tiles = (n_vectors + 3) / 4;
    return {tiles, n_vectors / tiles, n_vectors % tiles};
}

/// Pack row-major [out][in] weights for the per-sample kernels; `packed` has
/// packed_size(in, out) entries. Padded outputs get zero weights.
template <typename T>
void pack_sample_weights(const T* weight, int in, int out, T* packed) noexcept {
    constexpr int L = simd::lanes_v<T>;
    std::fill(packed, packed + packed_size<T>(in, out), T(0));
    if (out == 1) {
        std::copy(weight, weight + in, packed);
        return;
    }
    const Tiling t = tiling(simd::padded<T>(out) / L);
    int v0 = 0;
    for (int tile = 0; tile < t.tiles; ++tile) {
        const int nv = t.base + (tile < t.extra ? 1 : 0);
        T* dst = packed + static_cast<std::size_t>(v0) * L * in;
        for (int i = 0; i < in; ++i) {
            for (int k = 0; k < nv; ++k) {
                for (int l = 0; l < L; ++l) {
                    const int o = (v0 + k) * L + l;
                    dst[(static_cast<std::size_t>(i) * nv + k) * L + l] =
                        o < out ? weight[static_cast<std::size_t>(o) * in + i] : T(0);
                }
            }
        }
        v0 += nv;
    }
}

template <typename T, Activation A, int NV, int S>
VASHRINK_INLINE void sample_tile(const T* w, const T* bias, const T* slopes, const T* x, int in,
                                 T* y) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    typename V::reg acc[S][NV];
    for (int k = 0; k < NV; ++k) {
        acc[0][k] = V::load(bias + k * L);
        for (int s = 1; s < S; ++s) acc[s][k] = V::zero();
    }
    int i = 0;
    for (; i + S <= in; i += S) {
        for (int s = 0; s < S; ++s) {
            const auto xb = V::set1(x[i + s]);
            const T* wi = w + static_cast<std::size_t>(i + s) * NV * L;
            for (int k = 0; k < NV; ++k) acc[s][k] = V::fma(xb, V::load(wi + k * L), acc[s][k]);
        }
    }
    for (; i < in; ++i) {
        const auto xb = V::set1(x[i]);
        const T* wi = w + static_cast<std::size_t>(i) * NV * L;
        for (int k = 0; k < NV; ++k) acc[0][k] = V::fma(xb, V::load(wi + k * L), acc[0][k]);
    }
    // Pairwise sum of the S partial sums, written out so the accumulators stay in registers.
    static_assert(S == 1 || S == 2 || S == 3 || S == 4 || S == 8, "unsupported split");
    if constexpr (S == 8) {
        for (int s = 0; s < 4; ++s)
            for (int k = 0; k < NV; ++k) acc[s][k] = V::add(acc[s][k], acc[s + 4][k]);
    }
    if constexpr (S >= 4) {
        for (int s = 0; s < 2; ++s)
            for (int k = 0; k < NV; ++k) acc[s][k] = V::add(acc[s][k], acc[s + 2][k]);
    }
    if constexpr (S == 3) {
        for (int k = 0; k < NV; ++k) acc[0][k] = V::add(acc[0][k], acc[2][k]);
    }
    if constexpr (S >= 2) {
        for (int k = 0; k < NV; ++k) acc[0][k] = V::add(acc[0][k], acc[1][k]);
    }
    for (int k = 0; k < NV; ++k) {
        const auto slope = A == Activation::prelu ? V::load(slopes + k * L) : V::zero();
        V::store(y + k * L, activate<T, A>(acc[0][k], slope));
    }
}

/// One sample through one layer. `x` holds at least padded<T>(in) values when out == 1 (dot
/// product over whole registers; entries past `in` are masked off, so they may be anything,
/// e.g. the NaN a padded unit of the previous layer computed from an infinite input), else at
/// least `in`; `y` receives padded<T>(out) values (entries past `out` are not meaningful).
template <typename T, Activation A>
VASHRINK_INLINE void forward_sample(const T* packed, const T* bias_padded,
                                    const T* slopes_padded, const T* x, int in, int out,
                                    T* y) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    if (out == 1) {
        typename V::reg acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
        const int rem = in % L;
        const int n = in - rem;  // inputs in whole registers
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            for (int k = 0; k < 4; ++k)
                acc[k] = V::fma(V::load(x + i + k * L), V::load(packed + i + k * L), acc[k]);
        }
        for (; i < n; i += L) acc[0] = V::fma(V::load(x + i), V::load(packed + i), acc[0]);
        if (rem != 0) acc[0] = V::fma(V::keep_first(V::load(x + i), rem), V::load(packed + i), acc[0]);
        // acc[1..3] are only used for n >= 4 L; adding zeros would still cost two adds of
        // latency (x + 0 is not folded: -0 + 0 = +0).
        const auto total = n >= 4 * L ? V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])) : acc[0];
        const T sum = V::hsum(total);
        const auto slope = A == Activation::prelu ? V::set1(slopes_padded[0]) : V::zero();
        auto r = activate<T, A>(V::set1(sum + bias_padded[0]), slope);
        // A one-unit softmax is exp(v - v) / exp(v - v): 1, or NaN for a NaN or infinite v (as
        // in block mode).
        if constexpr (A == Activation::softmax) r = V::add(V::sub(r, r), V::set1(T(1)));
        V::store(y, r);
        return;
    }
    if (in == 1) {  // first layer of a 1-input model: one FMA per register of outputs
        const auto xb = V::set1(x[0]);
        for (int v = 0; v < simd::padded<T>(out); v += L) {
            const auto slope = A == Activation::prelu ? V::load(slopes_padded + v) : V::zero();
            V::store(y + v, activate<T, A>(V::fma(xb, V::load(packed + v), V::load(bias_padded + v)), slope));
        }
        if constexpr (A == Activation::softmax) softmax_vector(y, out);
        return;
    }
    const Tiling t = tiling(simd::padded<T>(out) / L);
    int v0 = 0;
    for (int tile = 0; tile < t.tiles; ++tile) {
        const int nv = t.base + (tile < t.extra ? 1 : 0);
        const T* w = packed + static_cast<std::size_t>(v0) * L * in;
        const T* b = bias_padded + v0 * L;
        const T* s = slopes_padded + (A == Activation::prelu ? v0 * L : 0);
        T* yy = y + v0 * L;
        switch (nv) {
            case 1: sample_tile<T, A, 1, 8>(w, b, s, x, in, yy); break;
            case 2: sample_tile<T, A, 2, 4>(w, b, s, x, in, yy); break;
            case 3: sample_tile<T, A, 3, 3>(w, b, s, x, in, yy); break;
            default: sample_tile<T, A, 4, 2>(w, b, s, x, in, yy); break;
        }
        v0 += nv;
    }
    if constexpr (A == Activation::softmax) softmax_vector(y, out);
}

template <typename T, Activation A, int MR, int NR>
VASHRINK_INLINE void block_tile(const T* w, int in, const T* bias, const T* slopes, const T* x,
                                std::size_t stride, T* y) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    typename V::reg acc[MR][NR];
    for (int m = 0; m < MR; ++m) {
        const auto b = V::set1(bias[m]);
        for (int n = 0; n < NR; ++n) acc[m][n] = b;
    }
    for (int i = 0; i < in; ++i) {
        typename V::reg xv[NR];
        for (int n = 0; n < NR; ++n) xv[n] = V::load(x + i * stride + n * L);
        for (int m = 0; m < MR; ++m) {
            const auto wb = V::set1(w[static_cast<std::size_t>(m) * in + i]);
            for (int n = 0; n < NR; ++n) acc[m][n] = V::fma(wb, xv[n], acc[m][n]);
        }
    }
    for (int m = 0; m < MR; ++m) {
        const auto slope = A == Activation::prelu ? V::set1(slopes[m]) : V::zero();
        for (int n = 0; n < NR; ++n) V::store(y + m * stride + n * L, activate<T, A>(acc[m][n], slope));
    }
}

template <typename T, Activation A, int NR>
VASHRINK_INLINE void block_rows(const T* w, int in, int out, const T* bias, const T* slopes,
                                const T* x, std::size_t stride, T* y) noexcept {
    constexpr int MR = NR <= 2 ? 6 : 3;
    int o = 0;
    for (; o + MR <= out; o += MR) {
        block_tile<T, A, MR, NR>(w + static_cast<std::size_t>(o) * in, in, bias + o,
                                 slopes + (A == Activation::prelu ? o : 0), x, stride, y + o * stride);
    }
    const int rest = out - o;
    const T* wr = w + static_cast<std::size_t>(o) * in;
    const T* sr = slopes + (A == Activation::prelu ? o : 0);
    T* yr = y + o * stride;
    switch (rest) {
        case 1: block_tile<T, A, 1, NR>(wr, in, bias + o, sr, x, stride, yr); break;
        case 2: block_tile<T, A, 2, NR>(wr, in, bias + o, sr, x, stride, yr); break;
        case 3: if constexpr (MR > 3) block_tile<T, A, 3, NR>(wr, in, bias + o, sr, x, stride, yr); break;
        case 4: if constexpr (MR > 4) block_tile<T, A, 4, NR>(wr, in, bias + o, sr, x, stride, yr); break;
        case 5: if constexpr (MR > 5) block_tile<T, A, 5, NR>(wr, in, bias + o, sr, x, stride, yr); break;
        default: break;
    }
}

/// Cheap activations are applied to the tile's accumulators; tanh/sigmoid/elu need a dozen
/// constants and would spill the 12 accumulators, so they run afterwards in a tight loop over
/// the strip (still in L1).
template <Activation A>
constexpr bool fused_in_tile = !(A == Activation::tanh || A == Activation::sigmoid ||
                                 A == Activation::elu);

template <typename T, Activation A, int NR>
VASHRINK_INLINE void block_strip(const T* w, int in, int out, const T* bias, const T* slopes,
                                 const T* x, std::size_t stride, T* y) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    if constexpr (fused_in_tile<A>) {
        block_rows<T, A, NR>(w, in, out, bias, slopes, x, stride, y);
    } else {
        block_rows<T, Activation::none, NR>(w, in, out, bias, slopes, x, stride, y);
        for (int o = 0; o < out; ++o) {
            T* row = y + o * stride;
            for (int n = 0; n < NR; ++n)
                V::store(row + n * L, activate<T, A>(V::load(row + n * L), V::zero()));
        }
    }
}

/// A block through one layer: X is [in][stride], Y is [out][stride], `n_columns` samples
/// (a multiple of the lanes) are computed. Weights row-major [out][in].
template <typename T, Activation A>
VASHRINK_INLINE void forward_block(const T* weight, const T* bias, const T* slopes, int in, int out,
                                   const T* x, T* y, std::size_t stride, int n_columns) noexcept {
    constexpr int L = simd::lanes_v<T>;
    const int n_vec = n_columns / L;
    const int nr = out >= 4 ? 2 : 4;
    int c = 0;
    if (nr == 2) {
        for (; c + 2 <= n_vec; c += 2)
            block_strip<T, A, 2>(weight, in, out, bias, slopes, x + c * L, stride, y + c * L);
    } else {
        for (; c + 4 <= n_vec; c += 4)
            block_strip<T, A, 4>(weight, in, out, bias, slopes, x + c * L, stride, y + c * L);
    }
    for (; c < n_vec; ++c)
        block_strip<T, A, 1>(weight, in, out, bias, slopes, x + c * L, stride, y + c * L);
    if constexpr (A == Activation::softmax) {
        for (int v = 0; v < n_vec; ++v) softmax_columns(y + v * L, out, stride);
    }
}

/// Run-time dispatch of forward_sample on the activation (inlined into Model::forward: the
/// per-layer call and constant reloads cost 6 % at 2x8).
template <typename T>
VASHRINK_INLINE void forward_sample_rt(Activation a, const T* packed, const T* bias_padded,
                                       const T* slopes_padded, const T* x, int in, int out, T* y) noexcept {
    switch (a) {
        case Activation::tanh: forward_sample<T, Activation::tanh>(packed, bias_padded, slopes_padded, x, in, out, y); break;
        case Activation::relu: forward_sample<T, Activation::relu>(packed, bias_padded, slopes_padded, x, in, out, y); break;
        case Activation::sigmoid: forward_sample<T, Activation::sigmoid>(packed, bias_padded, slopes_padded, x, in, out, y); break;
        case Activation::elu: forward_sample<T, Activation::elu>(packed, bias_padded, slopes_padded, x, in, out, y); break;
        case Activation::softmax: forward_sample<T, Activation::softmax>(packed, bias_padded, slopes_padded, x, in, out, y); break;
        case Activation::prelu: forward_sample<T, Activation::prelu>(packed, bias_padded, slopes_padded, x, in, out, y); break;
        default: forward_sample<T, Activation::none>(packed, bias_padded, slopes_padded, x, in, out, y); break;
    }
}

/// Run-time dispatch of forward_block on the activation.
template <typename T>
inline void forward_block_rt(Activation a, const T* weight, const T* bias, const T* slopes, int in,
                             int out, const T* x, T* y, std::size_t stride, int n_columns) noexcept {
    switch (a) {
        case Activation::tanh: forward_block<T, Activation::tanh>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
        case Activation::relu: forward_block<T, Activation::relu>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
        case Activation::sigmoid: forward_block<T, Activation::sigmoid>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
        case Activation::elu: forward_block<T, Activation::elu>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
        case Activation::softmax: forward_block<T, Activation::softmax>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
        case Activation::prelu: forward_block<T, Activation::prelu>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
        default: forward_block<T, Activation::none>(weight, bias, slopes, in, out, x, y, stride, n_columns); break;
    }
}

}  // namespace VASHRINK_NAMESPACE::dense
