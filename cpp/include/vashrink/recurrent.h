#pragma once
// Shared pieces of the GRU and LSTM layers (gru.h, lstm.h): the load-time description of a
// recurrent layer, its validation, the lane packing of its weights, and the per-sample step.
//
// Layout. Each gate's H units are padded to Hp = padded<T>(H) (whole registers). Outputs are
// interleaved per unit register v (units v L .. v L + L - 1): the registers of all gates of v are
// adjacent, so the recurrent product runs as one register tile per v and the gate maths of v
// starts as soon as its tile is done, overlapping the next tile's FMAs. Per sample:
//   gx = Wx x + b          4 registers per v (dense.h's per-sample kernel; b seeds it)
//   gh_v = Wh_v h + gx_v    G registers per v (G = 3 GRU, 4 LSTM), accumulated in registers
// GRU (torch: gates r, z, n): gx_v = [r | z | (no weights, bias b_hn) | n] with biases
// [b_ir + b_hr | b_iz + b_hz | b_hn | b_in], Wh_v = [r | z | n], so
//   gh_v = [a_r | a_z | W_hn h + b_hn],  r = sigmoid(a_r), z = sigmoid(a_z),
//   n = tanh(gx_n + r * gh_n),  h' = (1 - z) n + z h = n + z (h - n).
// LSTM (torch: gates i, f, g, o; one summed bias): gx_v and Wh_v = [i | f | g | o],
//   c' = f c + i g,  h' = o tanh(c').
// h is double-buffered (the product reads all of the old h while the new one is written).
// Padded units have zero weights and biases, so their state stays exactly 0 from a reset
// (GRU: h' = 0.5 h; LSTM: c' = 0.5 c, h' = 0.5 tanh(c')); nothing reads them anyway.
//
// Non-finite inputs, as in torch: a NaN input makes the state NaN, so that output and every
// later one are NaN until reset(). An infinite input saturates the gates (sigmoid(+-inf) = 1 or
// 0, tanh(+-inf) = +-1, exact in vmath.h) and the state stays finite, unless a weight on the input
// is exactly 0 (0 * inf = NaN, in torch too); its own output is then +-inf with an input skip.

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>

#include "vashrink/config.h"
#include "vashrink/dense.h"
#include "vashrink/storage.h"

namespace VASHRINK_NAMESPACE {

enum class Cell : int { gru = 1, lstm = 2 };

inline const char* cell_name(Cell c) noexcept {
    return c == Cell::gru ? "gru" : c == Cell::lstm ? "lstm" : "invalid";
}

/// Gate blocks of a cell in torch's weights: 3 for GRU (r, z, n), 4 for LSTM (i, f, g, o).
constexpr int gate_count(Cell c) noexcept { return c == Cell::gru ? 3 : 4; }

/// One recurrent layer as handed to a loader, in torch layout (pointers only read during load).
template <typename T>
struct RecurrentSpec {
    Cell cell = Cell::gru;
    int in_size = 0;
    int hidden_size = 0;
    const T* weight_ih = nullptr;  // [gates * hidden][in]
    const T* weight_hh = nullptr;  // [gates * hidden][hidden]
    const T* bias_ih = nullptr;    // [gates * hidden]; LSTM: the summed bias
    const T* bias_hh = nullptr;    // [gates * hidden]; required for GRU, optional for LSTM (added)
};

namespace recurrent {

/// Most hidden units a recurrent layer may have, and inputs it may take.
inline constexpr int max_hidden = 1 << 12;
inline constexpr int max_inputs = 1 << 16;

/// T values of the packed input weights (4 gate blocks for both cells) and recurrent weights.
template <typename T>
constexpr std::size_t ih_size(int in, int hidden) noexcept {
    return dense::packed_size<T>(in, 4 * simd::padded<T>(hidden));
}
template <typename T>
constexpr std::size_t hh_size(Cell cell, int hidden) noexcept {
    return dense::packed_size<T>(hidden, gate_count(cell) * simd::padded<T>(hidden));
}

/// What can be wrong with a spec (checked without allocating: compile-time loads are noexcept).
enum class Problem : int { none = 0, cell, in_size, hidden_size, missing, weight_ih, weight_hh, bias };

template <typename T>
Problem find_problem(const RecurrentSpec<T>& s, Cell cell) noexcept {
    if (s.cell != cell) return Problem::cell;
    if (s.in_size < 1 || s.in_size > max_inputs) return Problem::in_size;
    if (s.hidden_size < 1 || s.hidden_size > max_hidden) return Problem::hidden_size;
    if (s.weight_ih == nullptr || s.weight_hh == nullptr || s.bias_ih == nullptr ||
        (cell == Cell::gru && s.bias_hh == nullptr))
        return Problem::missing;
    const std::size_t rows = static_cast<std::size_t>(gate_count(cell)) * s.hidden_size;
    if (!all_finite(s.weight_ih, rows * s.in_size)) return Problem::weight_ih;
    if (!all_finite(s.weight_hh, rows * s.hidden_size)) return Problem::weight_hh;
    if (!all_finite(s.bias_ih, rows) || (s.bias_hh != nullptr && !all_finite(s.bias_hh, rows)))
        return Problem::bias;
    return Problem::none;
}

template <typename T>
bool check_ok(const RecurrentSpec<T>& s, Cell cell) noexcept {
    return find_problem(s, cell) == Problem::none;
}

/// What is wrong with `s` for a `cell` layer, or "" (sizes, pointers, finite values).
template <typename T>
std::string check(const RecurrentSpec<T>& s, Cell cell) {
    const std::string name = cell == Cell::gru ? "GRU: " : "LSTM: ";
    switch (find_problem(s, cell)) {
        case Problem::none: return "";
        case Problem::cell: return name + "the spec is for another cell type";
        case Problem::in_size:
            return name + "in_size must be 1.." + std::to_string(max_inputs) + " (got " +
                   std::to_string(s.in_size) + ")";
        case Problem::hidden_size:
            return name + "hidden_size must be 1.." + std::to_string(max_hidden) + " (got " +
                   std::to_string(s.hidden_size) + ")";
        case Problem::missing:
            return name + (cell == Cell::gru ? "weight_ih, weight_hh, bias_ih or bias_hh missing"
                                             : "weight_ih, weight_hh or bias missing");
        case Problem::weight_ih: return name + "weight_ih contains NaN or Inf";
        case Problem::weight_hh: return name + "weight_hh contains NaN or Inf";
        case Problem::bias: return name + "bias contains NaN or Inf";
    }
    return name + "invalid spec";
}

/// Pack [gates * hidden][in] gate rows (torch layout) as [v][i][b][lane]: for each unit register
/// v, input i, output block b < n_blocks, one register of weights. block_gate[b] is the torch
/// gate feeding block b, or -1 for zeros. This is dense.h's per-sample layout for
/// out = n_blocks * Hp when its tiles hold n_blocks registers (always so for n_blocks = 4).
template <typename T>
void pack(const T* weight, int in, int hidden, const int* block_gate, int n_blocks, T* packed) noexcept {
    constexpr int L = simd::lanes_v<T>;
    const int n_v = simd::padded<T>(hidden) / L;
    std::size_t k = 0;
    for (int v = 0; v < n_v; ++v)
        for (int i = 0; i < in; ++i)
            for (int b = 0; b < n_blocks; ++b)
                for (int l = 0; l < L; ++l, ++k) {
                    const int u = v * L + l;
                    packed[k] = (u < hidden && block_gate[b] >= 0)
                                    ? weight[(static_cast<std::size_t>(block_gate[b]) * hidden + u) * in + i]
                                    : T(0);
                }
}

/// Load-time packing of a validated spec into ih (ih_size), hh (hh_size) and the 4 Hp bias.
template <typename T>
void pack_layer(const RecurrentSpec<T>& s, T* ih, T* hh, T* bias4) noexcept {
    constexpr int L = simd::lanes_v<T>;
    const int h = s.hidden_size, hp = simd::padded<T>(h);
    std::fill(bias4, bias4 + 4 * hp, T(0));
    const auto b = [&](int block, int u) -> T& { return bias4[(u / L) * 4 * L + block * L + u % L]; };
    if (s.cell == Cell::gru) {
        const int x_blocks[4] = {0, 1, -1, 2}, h_blocks[3] = {0, 1, 2};
        pack(s.weight_ih, s.in_size, h, x_blocks, 4, ih);
        pack(s.weight_hh, h, h, h_blocks, 3, hh);
        for (int u = 0; u < h; ++u) {
            b(0, u) = s.bias_ih[u] + s.bias_hh[u];
            b(1, u) = s.bias_ih[h + u] + s.bias_hh[h + u];
            b(2, u) = s.bias_hh[2 * h + u];
            b(3, u) = s.bias_ih[2 * h + u];
        }
    } else {
        const int blocks[4] = {0, 1, 2, 3};
        pack(s.weight_ih, s.in_size, h, blocks, 4, ih);
        pack(s.weight_hh, h, h, blocks, 4, hh);
        for (int g = 0; g < 4; ++g)
            for (int u = 0; u < h; ++u)
                b(g, u) = s.bias_ih[g * h + u] + (s.bias_hh ? s.bias_hh[g * h + u] : T(0));
    }
}

/// acc[k] = bias[k L ..] + sum_i x[i] w[i][k] for NV registers, the input loop split over S
/// independent accumulator sets (NV S >= 8 FMAs in flight), kept in registers.
template <typename T, int NV, int S>
VASHRINK_INLINE void product_tile(const T* w, const T* bias, const T* x, int in,
                                  typename simd::Ops<T>::reg (&acc)[NV]) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    typename V::reg part[S][NV];
    for (int k = 0; k < NV; ++k) {
        part[0][k] = V::load(bias + k * L);
        for (int s = 1; s < S; ++s) part[s][k] = V::zero();
    }
    int i = 0;
    for (; i + S <= in; i += S) {
        for (int s = 0; s < S; ++s) {
            const auto xb = V::set1(x[i + s]);
            const T* wi = w + static_cast<std::size_t>(i + s) * NV * L;
            for (int k = 0; k < NV; ++k) part[s][k] = V::fma(xb, V::load(wi + k * L), part[s][k]);
        }
    }
    for (; i < in; ++i) {
        const auto xb = V::set1(x[i]);
        const T* wi = w + static_cast<std::size_t>(i) * NV * L;
        for (int k = 0; k < NV; ++k) part[0][k] = V::fma(xb, V::load(wi + k * L), part[0][k]);
    }
    static_assert(S == 2 || S == 3 || S == 4, "unsupported split");
    for (int k = 0; k < NV; ++k) {
        if constexpr (S == 4) {
            acc[k] = V::add(V::add(part[0][k], part[1][k]), V::add(part[2][k], part[3][k]));
        } else if constexpr (S == 3) {
            acc[k] = V::add(V::add(part[0][k], part[1][k]), part[2][k]);
        } else {
            acc[k] = V::add(part[0][k], part[1][k]);
        }
    }
}

/// Two adjacent unit registers' G-register tiles at once (weights of v then v + 1), S = 2.
template <typename T, int G>
VASHRINK_INLINE void product_tile2(const T* w, const T* bias, const T* x, int in,
                                   typename simd::Ops<T>::reg (&acc)[2 * G]) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    typename V::reg part[2][2 * G];
    const T* w1 = w + static_cast<std::size_t>(G) * L * in;
    for (int k = 0; k < G; ++k) {
        part[0][k] = V::load(bias + k * L);
        part[0][G + k] = V::load(bias + 4 * L + k * L);
        part[1][k] = part[1][G + k] = V::zero();
    }
    int i = 0;
    for (; i + 2 <= in; i += 2) {
        for (int s = 0; s < 2; ++s) {
            const auto xb = V::set1(x[i + s]);
            const std::size_t o = static_cast<std::size_t>(i + s) * G * L;
            for (int k = 0; k < G; ++k) {
                part[s][k] = V::fma(xb, V::load(w + o + k * L), part[s][k]);
                part[s][G + k] = V::fma(xb, V::load(w1 + o + k * L), part[s][G + k]);
            }
        }
    }
    for (; i < in; ++i) {
        const auto xb = V::set1(x[i]);
        const std::size_t o = static_cast<std::size_t>(i) * G * L;
        for (int k = 0; k < G; ++k) {
            part[0][k] = V::fma(xb, V::load(w + o + k * L), part[0][k]);
            part[0][G + k] = V::fma(xb, V::load(w1 + o + k * L), part[0][G + k]);
        }
    }
    for (int k = 0; k < 2 * G; ++k) acc[k] = V::add(part[0][k], part[1][k]);
}

/// One GRU step: x (in values) and the state h_old -> h_new (Hp values each); gx holds 4 Hp
/// scratch values. Constant in/hidden (compile-time layers) unroll it.
template <typename T>
VASHRINK_INLINE void gru_step(const T* ih, const T* bias4, const T* hh, const T* x, int in,
                              int hidden, T* gx, const T* h_old, T* h_new) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    const int n_v = simd::padded<T>(hidden) / L;
    dense::forward_sample<T, Activation::none>(ih, bias4, bias4, x, in, 4 * n_v * L, gx);
    // Block 2 is b_hn alone: rewritten so an infinite x (0 * inf) cannot turn it into NaN.
    for (int v = 0; v < n_v; ++v) V::store(gx + v * 4 * L + 2 * L, V::load(bias4 + v * 4 * L + 2 * L));
    int v = 0;
    for (; v + 2 <= n_v; v += 2) {  // two unit registers per tile: half the broadcasts
        typename V::reg a[6];
        product_tile2<T, 3>(hh + static_cast<std::size_t>(v) * 3 * L * hidden, gx + v * 4 * L,
                              h_old, hidden, a);
        for (int q = 0; q < 2; ++q) {
            const auto r = vmath::sigmoid<T>(a[3 * q]);
            const auto z = vmath::sigmoid<T>(a[3 * q + 1]);
            const auto n = vmath::tanh<T>(V::fma(r, a[3 * q + 2], V::load(gx + (v + q) * 4 * L + 3 * L)));
            V::store(h_new + (v + q) * L, V::fma(z, V::sub(V::load(h_old + (v + q) * L), n), n));
        }
    }
    for (; v < n_v; ++v) {
        typename V::reg a[3];
        product_tile<T, 3, 3>(hh + static_cast<std::size_t>(v) * 3 * L * hidden, gx + v * 4 * L,
                              h_old, hidden, a);
        const auto r = vmath::sigmoid<T>(a[0]);
        const auto z = vmath::sigmoid<T>(a[1]);
        const auto n = vmath::tanh<T>(V::fma(r, a[2], V::load(gx + v * 4 * L + 3 * L)));
        V::store(h_new + v * L, V::fma(z, V::sub(V::load(h_old + v * L), n), n));
    }
}

#if VASHRINK_AVX512
/// The LSTM recurrent product and gate maths for 2P adjacent unit registers in AVX-512 registers,
/// each holding two of the layout's 8-lane blocks ([i|f], [g|o] per unit register): half the
/// instructions of 8-lane tiles, and one broadcast of h per input for all of them. Every lane is
/// computed by the same operations in the same order as product_tile<float, 4, 2> and
/// lstm_step's gate maths, so the result is the same bit for bit.
template <int P>
VASHRINK_INLINE void lstm_pairs_wide(const float* hh, const float* gx, const float* h_old,
                                     int hidden, float* h_new, float* c) noexcept {
    using W = simd::WideFloat;
    constexpr int L = simd::lanes_v<float>;
    constexpr int R = 4 * P;  // wide accumulators: [i|f] and [g|o] of each unit register
    const std::size_t stride = static_cast<std::size_t>(4) * L * hidden;  // per unit register
    W::reg part[2][R];
    for (int r = 0; r < R; ++r) {
        part[0][r] = W::load(gx + 2 * r * L);
        part[1][r] = W::zero();
    }
    const auto step = [&](int i, int s) {
        const auto xb = W::set1(h_old[i]);
        const float* wi = hh + static_cast<std::size_t>(i) * 4 * L;
        for (int r = 0; r < R; ++r)
            part[s][r] = W::fma(xb, W::load(wi + (r / 2) * stride + (r % 2) * 2 * L), part[s][r]);
    };
    int i = 0;
    for (; i + 2 <= hidden; i += 2) {
        step(i, 0);
        step(i + 1, 1);
    }
    if (i < hidden) step(i, 0);
    for (int q = 0; q < P; ++q) {
        // [i0|f0], [g0|o0], [i1|f1], [g1|o1] -> sigmoid([i0|f0]), ..., then regrouped by gate.
        W::reg a[4];
        for (int k = 0; k < 4; ++k) a[k] = W::add(part[0][4 * q + k], part[1][4 * q + k]);
        const auto s0 = vmath::sigmoid<float, W>(a[0]);
        const auto s1 = vmath::sigmoid<float, W>(a[2]);
        const auto g = vmath::tanh<float, W>(W::low_halves(a[1], a[3]));
        const auto o = vmath::sigmoid<float, W>(W::high_halves(a[1], a[3]));
        float* cq = c + 2 * q * L;
        const auto cv = W::fma(W::high_halves(s0, s1), W::load(cq), W::mul(W::low_halves(s0, s1), g));
        W::store(cq, cv);
        W::store(h_new + 2 * q * L, W::mul(o, vmath::tanh<float, W>(cv)));
    }
}
#endif

/// One LSTM step: x, state h_old -> h_new and c (in place); gx holds 4 Hp scratch values.
template <typename T>
VASHRINK_INLINE void lstm_step(const T* ih, const T* bias4, const T* hh, const T* x, int in,
                               int hidden, T* gx, const T* h_old, T* h_new, T* c) noexcept {
    using V = simd::Ops<T>;
    constexpr int L = V::lanes;
    const int n_v = simd::padded<T>(hidden) / L;
    dense::forward_sample<T, Activation::none>(ih, bias4, bias4, x, in, 4 * n_v * L, gx);
    int v = 0;
#if VASHRINK_AVX512
    if constexpr (std::is_same_v<T, float>) {
        const auto wide = [&](auto pairs) {
            constexpr int P = decltype(pairs)::value;
            for (; v + 2 * P <= n_v; v += 2 * P)
                lstm_pairs_wide<P>(hh + static_cast<std::size_t>(v) * 4 * L * hidden, gx + v * 4 * L,
                                   h_old, hidden, h_new + v * L, c + v * L);
        };
        wide(std::integral_constant<int, 2>{});
        wide(std::integral_constant<int, 1>{});
    }
#endif
    for (; v < n_v; ++v) {
        typename V::reg a[4];
        product_tile<T, 4, 2>(hh + static_cast<std::size_t>(v) * 4 * L * hidden, gx + v * 4 * L,
                              h_old, hidden, a);
        const auto i = vmath::sigmoid<T>(a[0]);
        const auto f = vmath::sigmoid<T>(a[1]);
        const auto g = vmath::tanh<T>(a[2]);
        const auto o = vmath::sigmoid<T>(a[3]);
        const auto cv = V::fma(f, V::load(c + v * L), V::mul(i, g));
        V::store(c + v * L, cv);
        V::store(h_new + v * L, V::mul(o, vmath::tanh<T>(cv)));
    }
}

}  // namespace recurrent
}  // namespace VASHRINK_NAMESPACE
