#pragma once
// The per-step kernels of rnn_grad.h: one GRU/LSTM layer forward (storing what the backward
// pass needs), its backward step, and the Dense(H, 1) head, for a tile of L = NB * lanes rows.
// Every buffer is [quantity][L]: row q of a tile is lane q % lanes of register q / lanes, so a
// weight is broadcast once and multiplies NB registers.
//
// GRU (torch nn.GRU, gates r, z, n):
//   r = s(a_r), z = s(a_z) with a = W_ih u + b_ih + W_hh h + b_hh (rows of the gate),
//   hn = W_hn h + b_hn, n = tanh(W_in u + b_in + r hn), h' = (1 - z) n + z h.
// Backward, given d = dL/dh':
//   dn = d (1 - z), dz = d (h - n), dh = d z + W_hh^T g_h,
//   g_n = dn (1 - n^2), g_r = g_n hn r (1 - r), g_z = dz z (1 - z),
//   input side g_i = [g_r, g_z, g_n], recurrent side g_h = [g_r, g_z, g_n r];
//   dW_ih += g_i u^T, db_ih += g_i, dW_hh += g_h h^T, db_hh += g_h, du = W_ih^T g_i.
// LSTM (torch nn.LSTM, gates i, f, g, o): c' = f c + i g, h' = o tanh(c'). Backward with
// d = dL/dh', dc = dL/dc' from the next step: dc' = dc + d o (1 - tanh^2 c'),
//   g_i = dc' g i (1 - i), g_f = dc' c f (1 - f), g_g = dc' i (1 - g^2),
//   g_o = d tanh(c') o (1 - o), dc <- dc' f, dh = W_hh^T g; both biases get g.
// Weight gradients accumulate in one register of lanes per parameter (reduced by the caller).

#include <cstddef>

#include "vashrink/config.h"
#include "vashrink/vec.h"
#include "vashrink/vmath.h"

namespace VASHRINK_NAMESPACE::rnn_kernels {

/// One layer's weights (torch layout) and their transposes [H][G*H] for the backward products.
template <typename T>
struct LayerWeights {
    const T* ih;    // [G*H][in]
    const T* hh;    // [G*H][H]
    const T* b_ih;  // [G*H]
    const T* b_hh;  // [G*H]
    const T* hh_t;  // [H][G*H]
    const T* ih_t;  // [H][G*H], layers > 0 only
    int in;
    int h;
};

/// Lane accumulators of one layer's gradients: [parameter][lanes].
template <typename T>
struct LayerGrads {
    T* ih;
    T* hh;
    T* b_ih;
    T* b_hh;
};

template <typename T>
struct Kernels {
    using V = simd::Ops<T>;
    using reg = typename V::reg;
    static constexpr int W = V::lanes;

    static VASHRINK_INLINE T hsum(const T* p) noexcept { return V::hsum(V::load(p)); }

    /// acc[q] += sum_j w[j] u[j][q-th register], u with rows of NB registers.
    template <int NB>
    static VASHRINK_INLINE void matvec(reg (&acc)[NB], const T* w, int n, const T* u) noexcept {
        for (int j = 0; j < n; ++j) {
            const reg wj = V::set1(w[j]);
            const T* uj = u + j * NB * W;
            for (int q = 0; q < NB; ++q) acc[q] = V::fma(wj, V::load(uj + q * W), acc[q]);
        }
    }

    template <int NB>
    static VASHRINK_INLINE void splat(reg (&acc)[NB], T value) noexcept {
        const reg v = V::set1(value);
        for (int q = 0; q < NB; ++q) acc[q] = v;
    }

    /// d[j] += src[j] over n rows.
    template <int NB>
    static void add(T* d, const T* src, int n) noexcept {
        for (int i = 0; i < n * NB; ++i)
            V::store(d + i * W, V::add(V::load(d + i * W), V::load(src + i * W)));
    }

    /// Rows of one pass of the products: 8 independent accumulator registers, enough to hide
    /// the FMA latency (the loop is otherwise latency-bound at one FMA per cycle).
    template <int NB>
    static constexpr int rows_per_pass = NB >= 8 ? 1 : 8 / NB;

    /// out[r] = (out[r] if accumulate, else 0) + bias[r] (if given) + sum_j w[r][j] u[j] for
    /// r < rows; w row-major [rows][n], u and out [.][NB registers].
    template <int NB, int R>
    static VASHRINK_INLINE void product_block(const T* w, int n, const T* u, T* out,
                                              const T* bias, bool accumulate) noexcept {
        constexpr int L = NB * W;
        reg acc[R][NB];
        for (int i = 0; i < R; ++i) {
            const reg b = bias ? V::set1(bias[i]) : V::zero();
            for (int q = 0; q < NB; ++q)
                acc[i][q] = accumulate ? V::add(V::load(out + i * L + q * W), b) : b;
        }
        for (int j = 0; j < n; ++j) {
            reg uq[NB];
            for (int q = 0; q < NB; ++q) uq[q] = V::load(u + j * L + q * W);
            for (int i = 0; i < R; ++i) {
                const reg wij = V::set1(w[static_cast<std::size_t>(i) * n + j]);
                for (int q = 0; q < NB; ++q) acc[i][q] = V::fma(wij, uq[q], acc[i][q]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int q = 0; q < NB; ++q) V::store(out + i * L + q * W, acc[i][q]);
    }

    template <int NB>
    static void product(const T* w, int rows, int n, const T* u, T* out, const T* bias,
                        bool accumulate) noexcept {
        constexpr int L = NB * W, R = rows_per_pass<NB>;
        int r = 0;
        for (; r + R <= rows; r += R)
            product_block<NB, R>(w + static_cast<std::size_t>(r) * n, n, u, out + r * L,
                                 bias ? bias + r : nullptr, accumulate);
        for (; r < rows; ++r)
            product_block<NB, 1>(w + static_cast<std::size_t>(r) * n, n, u, out + r * L,
                                 bias ? bias + r : nullptr, accumulate);
    }

    /// acc_b[r] += sum_q g[r]; acc_w[r][j] += sum_q g[r][q] u[j][q], for R rows from g.
    template <int NB, int R>
    static VASHRINK_INLINE void outer_block(const T* g, const T* u, int n, T* acc_w,
                                            T* acc_b) noexcept {
        constexpr int L = NB * W;
        reg gq[R][NB];
        for (int i = 0; i < R; ++i) {
            reg sb = V::load(acc_b + i * W);
            for (int q = 0; q < NB; ++q) {
                gq[i][q] = V::load(g + i * L + q * W);
                sb = V::add(sb, gq[i][q]);
            }
            V::store(acc_b + i * W, sb);
        }
        for (int j = 0; j < n; ++j) {
            reg uq[NB];
            for (int q = 0; q < NB; ++q) uq[q] = V::load(u + j * L + q * W);
            for (int i = 0; i < R; ++i) {
                T* a = acc_w + (static_cast<std::size_t>(i) * n + j) * W;
                reg s = V::fma(gq[i][0], uq[0], V::load(a));
                for (int q = 1; q < NB; ++q) s = V::fma(gq[i][q], uq[q], s);
                V::store(a, s);
            }
        }
    }

    template <int NB>
    static void outer(const T* g, int rows, const T* u, int n, T* acc_w, T* acc_b) noexcept {
        constexpr int L = NB * W, R = NB >= 4 ? 2 : 4 / NB;
        int r = 0;
        for (; r + R <= rows; r += R)
            outer_block<NB, R>(g + r * L, u, n, acc_w + static_cast<std::size_t>(r) * n * W,
                               acc_b + r * W);
        for (; r < rows; ++r)
            outer_block<NB, 1>(g + r * L, u, n, acc_w + static_cast<std::size_t>(r) * n * W,
                               acc_b + r * W);
    }

    /// out[j] = sum_r wt[j][r] g[r] (+ out[j] when accumulate), j < h, r < gh.
    template <int NB>
    static void matvec_t(const T* wt, int h, int gh, const T* g, T* out, bool accumulate) noexcept {
        product<NB>(wt, h, gh, g, out, nullptr, accumulate);
    }

    template <int NB>
    static void gru_forward(const LayerWeights<T>& w, const T* u, const T* h, T* h_out, T* g,
                            T* hn) noexcept {
        constexpr int L = NB * W;
        const int H = w.h;
        // Pre-activations: g = W_ih u + b_ih (3H rows), + W_hh h + b_hh for r, z; hn apart.
        product<NB>(w.ih, 3 * H, w.in, u, g, w.b_ih, false);
        product<NB>(w.hh, 2 * H, H, h, g, w.b_hh, true);
        product<NB>(w.hh + 2 * H * H, H, H, h, hn, w.b_hh + 2 * H, false);
        for (int i = 0; i < 2 * H * NB; ++i) V::store(g + i * W, vmath::sigmoid<T>(V::load(g + i * W)));
        for (int j = 0; j < H; ++j)
            for (int q = 0; q < NB; ++q) {
                const int at = j * L + q * W;
                const reg r = V::load(g + at), z = V::load(g + H * L + at);
                const reg n = vmath::tanh<T>(V::fma(r, V::load(hn + at), V::load(g + 2 * H * L + at)));
                V::store(g + 2 * H * L + at, n);
                V::store(h_out + at, V::fma(z, V::sub(V::load(h + at), n), n));
            }
    }

    template <int NB>
    static void lstm_forward(const LayerWeights<T>& w, const T* u, const T* h, const T* c,
                             T* h_out, T* c_out, T* g) noexcept {
        constexpr int L = NB * W;
        const int H = w.h;
        product<NB>(w.ih, 4 * H, w.in, u, g, w.b_ih, false);
        product<NB>(w.hh, 4 * H, H, h, g, w.b_hh, true);
        for (int j = 0; j < H; ++j)
            for (int q = 0; q < NB; ++q) {
                const int at = j * L + q * W;
                const reg i = vmath::sigmoid<T>(V::load(g + at));
                const reg f = vmath::sigmoid<T>(V::load(g + H * L + at));
                const reg gg = vmath::tanh<T>(V::load(g + 2 * H * L + at));
                const reg o = vmath::sigmoid<T>(V::load(g + 3 * H * L + at));
                const reg cn = V::fma(f, V::load(c + at), V::mul(i, gg));
                V::store(g + at, i);
                V::store(g + H * L + at, f);
                V::store(g + 2 * H * L + at, gg);
                V::store(g + 3 * H * L + at, o);
                V::store(c_out + at, cn);
                V::store(h_out + at, V::mul(o, vmath::tanh<T>(cn)));
            }
    }

    /// y = w . h + b (+ x with the skip); head = [w (H values), b].
    template <int NB>
    static void head_forward(const T* head, int H, const T* h, const T* x, bool skip,
                             T* y) noexcept {
        reg acc[NB];
        splat<NB>(acc, head[H]);
        matvec<NB>(acc, head, H, h);
        for (int q = 0; q < NB; ++q)
            V::store(y + q * W, skip ? V::add(acc[q], V::load(x + q * W)) : acc[q]);
    }

    /// d[j] += w[j] dy; head gradient lanes acc[j] += dy h[j], acc[H] += dy.
    template <int NB>
    static void head_backward(const T* head, int H, const T* h, const T* dy, T* d,
                              T* acc) noexcept {
        constexpr int L = NB * W;
        reg dq[NB];
        for (int q = 0; q < NB; ++q) dq[q] = V::load(dy + q * W);
        reg sb = V::load(acc + H * W);
        for (int q = 0; q < NB; ++q) sb = V::add(sb, dq[q]);
        V::store(acc + H * W, sb);
        for (int j = 0; j < H; ++j) {
            const reg wj = V::set1(head[j]);
            reg s = V::load(acc + j * W);
            for (int q = 0; q < NB; ++q) {
                const int at = j * L + q * W;
                V::store(d + at, V::fma(wj, dq[q], V::load(d + at)));
                s = V::fma(dq[q], V::load(h + at), s);
            }
            V::store(acc + j * W, s);
        }
    }

    /// One GRU step backward: d (dL/dh' in, dL/dh out), below = dL/du (null: not needed).
    template <int NB>
    static void gru_backward(const LayerWeights<T>& w, const T* u, const T* hp, const T* g,
                             const T* hn, T* d, T* below, T* gi, T* gh,
                             const LayerGrads<T>& acc) noexcept {
        constexpr int L = NB * W;
        const int H = w.h, HL = H * L;
        const reg one = V::set1(T(1));
        for (int j = 0; j < H; ++j)
            for (int q = 0; q < NB; ++q) {
                const int at = j * L + q * W;
                const reg r = V::load(g + at), z = V::load(g + HL + at), n = V::load(g + 2 * HL + at);
                const reg dv = V::load(d + at);
                const reg dn = V::mul(dv, V::sub(one, z));
                const reg dz = V::mul(dv, V::sub(V::load(hp + at), n));
                const reg an = V::mul(dn, V::fnma(n, n, one));
                const reg ar = V::mul(V::mul(an, V::load(hn + at)), V::mul(r, V::sub(one, r)));
                const reg az = V::mul(dz, V::mul(z, V::sub(one, z)));
                V::store(gi + at, ar);
                V::store(gi + HL + at, az);
                V::store(gi + 2 * HL + at, an);
                V::store(gh + at, ar);
                V::store(gh + HL + at, az);
                V::store(gh + 2 * HL + at, V::mul(an, r));
                V::store(d + at, V::mul(dv, z));
            }
        matvec_t<NB>(w.hh_t, H, 3 * H, gh, d, true);
        if (below) matvec_t<NB>(w.ih_t, H, 3 * H, gi, below, false);
        outer<NB>(gi, 3 * H, u, w.in, acc.ih, acc.b_ih);
        outer<NB>(gh, 3 * H, hp, H, acc.hh, acc.b_hh);
    }

    /// One LSTM step backward: d (dL/dh'), dc (dL/dc' from the next step in, dL/dc out).
    template <int NB>
    static void lstm_backward(const LayerWeights<T>& w, const T* u, const T* hp, const T* cp,
                              const T* c, const T* g, T* d, T* dc, T* below, T* gi,
                              const LayerGrads<T>& acc) noexcept {
        constexpr int L = NB * W;
        const int H = w.h, HL = H * L;
        const reg one = V::set1(T(1));
        for (int j = 0; j < H; ++j)
            for (int q = 0; q < NB; ++q) {
                const int at = j * L + q * W;
                const reg i = V::load(g + at), f = V::load(g + HL + at);
                const reg gg = V::load(g + 2 * HL + at), o = V::load(g + 3 * HL + at);
                const reg tc = vmath::tanh<T>(V::load(c + at));
                const reg dv = V::load(d + at);
                const reg dcc = V::fma(V::mul(dv, o), V::fnma(tc, tc, one), V::load(dc + at));
                V::store(gi + at, V::mul(V::mul(dcc, gg), V::mul(i, V::sub(one, i))));
                V::store(gi + HL + at,
                         V::mul(V::mul(dcc, V::load(cp + at)), V::mul(f, V::sub(one, f))));
                V::store(gi + 2 * HL + at, V::mul(V::mul(dcc, i), V::fnma(gg, gg, one)));
                V::store(gi + 3 * HL + at, V::mul(V::mul(dv, tc), V::mul(o, V::sub(one, o))));
                V::store(dc + at, V::mul(dcc, f));
            }
        matvec_t<NB>(w.hh_t, H, 4 * H, gi, d, false);
        if (below) matvec_t<NB>(w.ih_t, H, 4 * H, gi, below, false);
        outer<NB>(gi, 4 * H, u, w.in, acc.ih, acc.b_ih);
        outer<NB>(gi, 4 * H, hp, H, acc.hh, acc.b_hh);
    }
};

}  // namespace VASHRINK_NAMESPACE::rnn_kernels
