#pragma once
// Training side of a GRU/LSTM model: forward with stored activations, the recurrent trainer's
// loss, and back-propagation through time (BPTT) over one chunk, batched over rows.
//
// Model (torch conventions, rnn_kernels.h has the gate maths): a stack of `layers` GRU or LSTM
// layers of `hidden` units (layer 0 reads one input), a Dense(hidden, 1) head and optionally the
// input skip: y_hat = w . h_top + b (+ x).
// Parameters, one flat array in torch's named_parameters() order: per layer weight_ih
// [G*H][in], weight_hh [G*H][H], bias_ih [G*H], bias_hh [G*H] (LSTM too: torch keeps both
// biases), then the head's weight [H] and bias [1].
//
// Loss of one chunk of B rows x T steps: rnn_loss.h (the torch trainer's column_losses).
//
// Layout: batch-major SIMD. Rows are grouped in tiles of L = NB registers of lanes (NB = 1, 2
// or 4, chosen at init from the largest batch); every vector holds one quantity for the L rows
// of a tile, so each weight is broadcast once per step and used for L rows. Per layer and tile
// a segment's states [S+1][H][L], gate activations [S][G*H][L] (and for GRU W_hn h + b_hn
// [S][H][L]) are kept for the backward pass; a chunk longer than S = segment steps (at most
// segment_bytes of them, a memory bound) keeps only the state at each segment's start and
// recomputes the segment's forward before its backward pass (the last segment is still
// stored). Weight gradients accumulate in one register of lanes per parameter (summed over rows
// and steps, reduced once per chunk).
//
// Every buffer is sized by init(); forward(), loss_and_grad() and the state accessors allocate
// nothing and are noexcept (they return false on sizes beyond those given to init()). The state
// (h, and c for LSTM, per layer and row) lives in the object and carries from call to call.
// Activations are vmath.h's vectorised tanh/sigmoid (double: within 1e-15 of std::tanh).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <new>
#include <string>

#include "vashrink/config.h"
#include "vashrink/recurrent.h"
#include "vashrink/rnn_kernels.h"
#include "vashrink/rnn_loss.h"
#include "vashrink/storage.h"

namespace VASHRINK_NAMESPACE {

template <typename T>
class RnnGrad {
    using K = rnn_kernels::Kernels<T>;
    static constexpr int W = K::W;

public:
    static constexpr int max_layers = 8;
    static constexpr int max_hidden = 1024;

    /// Most bytes of stored activations per tile (segment_steps 0): a bound on memory. A
    /// shorter segment costs a second forward pass, which measured slower than reading the
    /// activations back (LSTM-32, 32 rows, chunks of 100 steps: 16.0 vs 11.8 us per step with
    /// segments of 21 and 100, bench/rnn_grad_native.cpp), so the default stores whole chunks
    /// of the usual sizes.
    static constexpr std::size_t segment_bytes = std::size_t(64) << 20;

    /// Size every buffer; tile_regs 0 picks 1, 2 or 4 registers of rows per tile from the
    /// batch; segment_steps 0 picks the segment length from segment_bytes.
    Status init(Cell cell, int hidden, int layers, bool skip, int max_batch, int max_steps,
                int tile_regs = 0, int segment_steps = 0) {
        *this = RnnGrad();
        if (hidden < 1 || hidden > max_hidden)
            return Status::error("hidden must be 1.." + std::to_string(max_hidden));
        if (layers < 1 || layers > max_layers)
            return Status::error("layers must be 1.." + std::to_string(max_layers));
        if (max_batch < 1 || max_steps < 1)
            return Status::error("max_batch and max_steps must be at least 1");
        if (tile_regs != 0 && tile_regs != 1 && tile_regs != 2 && tile_regs != 4)
            return Status::error("tile_regs must be 0 (auto), 1, 2 or 4");
        if (segment_steps < 0) return Status::error("segment_steps must be 0 (auto) or more");
        cell_ = cell;
        h_ = hidden;
        g_ = gate_count(cell);
        layers_ = layers;
        skip_ = skip;
        tile_regs_ = tile_regs;
        max_batch_ = max_batch;
        max_steps_ = max_steps;
        choose_tiles(max_batch);
        std::size_t off = 0;
        for (int k = 0; k < layers; ++k) {
            const std::size_t gh = static_cast<std::size_t>(g_) * h_;
            off_[k].w_ih = off;
            off += gh * in_size(k);
            off_[k].w_hh = off;
            off += gh * h_;
            off_[k].b_ih = off;
            off += gh;
            off_[k].b_hh = off;
            off += gh;
        }
        head_w_ = off;
        n_params_ = off + h_ + 1;
        const std::size_t hl = static_cast<std::size_t>(h_) * l_, ghl = hl * g_;
        const std::size_t lt = static_cast<std::size_t>(layers_) * tiles_;
        const std::size_t steps = static_cast<std::size_t>(max_steps_);
        const bool lstm = cell_ == Cell::lstm;
        // Stored per step and tile: states (h, and c for LSTM), gates, and the GRU's hn.
        const std::size_t step_bytes =
            static_cast<std::size_t>(layers_) * (ghl + 2 * hl) * sizeof(T);
        seg_ = segment_steps ? segment_steps
                             : static_cast<int>(std::max<std::size_t>(1, segment_bytes / step_bytes));
        seg_ = std::min(seg_, max_steps_);
        const std::size_t seg = static_cast<std::size_t>(seg_);
        const std::size_t n_seg = (steps + seg - 1) / seg;
        try {
            params_.assign(n_params_, T(0));
            grad_.assign(n_params_, T(0));
            acc_.assign(n_params_ * W, T(0));
            wt_.assign(static_cast<std::size_t>(layers_) * 2 * g_ * h_ * h_, T(0));
            state_h_.assign(lt * hl, T(0));
            state_c_.assign(lstm ? lt * hl : 0, T(0));
            hs_.assign(lt * (seg + 1) * hl, T(0));
            cs_.assign(lstm ? lt * (seg + 1) * hl : 0, T(0));
            gates_.assign(lt * seg * ghl, T(0));
            hn_.assign(lstm ? 0 : lt * seg * hl, T(0));
            ck_h_.assign(lt * n_seg * hl, T(0));
            ck_c_.assign(lstm ? lt * n_seg * hl : 0, T(0));
            xs_.assign(tiles_ * steps * l_, T(0));
            yh_.assign(tiles_ * steps * l_, T(0));
            dy_.assign(tiles_ * steps * l_, T(0));
            fh_.assign(static_cast<std::size_t>(layers_) * 2 * hl, T(0));
            fc_.assign(static_cast<std::size_t>(layers_) * 2 * hl, T(0));
            dh_.assign(static_cast<std::size_t>(layers_) * hl, T(0));
            dc_.assign(static_cast<std::size_t>(layers_) * hl, T(0));
            gi_.assign(ghl, T(0));
            gh_.assign(ghl, T(0));
            below_.assign(hl, T(0));
            scratch_.assign(ghl + hl + static_cast<std::size_t>(l_), T(0));
        } catch (const std::bad_alloc&) {
            *this = RnnGrad();
            return Status::error("out of memory for a batch of " + std::to_string(max_batch) +
                                 " rows and chunks of " + std::to_string(max_steps) + " steps");
        }
        return {};
    }

    bool ready() const noexcept { return h_ > 0; }
    Cell cell() const noexcept { return cell_; }
    int hidden() const noexcept { return h_; }
    int layers() const noexcept { return layers_; }
    bool skip() const noexcept { return skip_; }
    int max_batch() const noexcept { return max_batch_; }
    int max_steps() const noexcept { return max_steps_; }
    int batch() const noexcept { return batch_; }
    int tile_rows() const noexcept { return l_; }
    int segment_steps() const noexcept { return seg_; }
    int in_size(int layer) const noexcept { return layer == 0 ? 1 : h_; }
    std::size_t n_params() const noexcept { return n_params_; }
    T* params() noexcept { return params_.data(); }
    const T* params() const noexcept { return params_.data(); }
    /// The gradient of the last loss_and_grad() (zeros if its loss was not finite).
    const T* grad() const noexcept { return grad_.data(); }
    T* grad() noexcept { return grad_.data(); }

    /// Zero state for `batch` rows (every lane, padding included); the tile width follows the
    /// batch (the fewest registers of rows that hold it, at most the width chosen at init).
    bool reset_state(int batch) noexcept {
        if (batch < 1 || batch > max_batch_) return false;
        std::fill(state_h_.begin(), state_h_.end(), T(0));
        std::fill(state_c_.begin(), state_c_.end(), T(0));
        choose_tiles(batch);
        batch_ = batch;
        return true;
    }

    /// State of `batch` rows from h [layers][batch][hidden] (and c alike for LSTM).
    bool set_state(int batch, const T* h, const T* c) noexcept {
        if (!reset_state(batch) || (cell_ == Cell::lstm) != (c != nullptr)) return false;
        for_rows(batch, [&](int k, int b, int j, std::size_t at) {
            const std::size_t src = (static_cast<std::size_t>(k) * batch + b) * h_ + j;
            state_h_[at] = h[src];
            if (c) state_c_[at] = c[src];
        });
        return true;
    }

    /// Copy the state of the current batch out, same layout as set_state.
    void get_state(T* h, T* c) const noexcept {
        for_rows(batch_, [&](int k, int b, int j, std::size_t at) {
            const std::size_t dst = (static_cast<std::size_t>(k) * batch_ + b) * h_ + j;
            h[dst] = state_h_[at];
            if (c) c[dst] = cell_ == Cell::lstm ? state_c_[at] : T(0);
        });
    }

    /// Run `steps` samples of the current batch's rows (x[b * stride + t]) from the carried
    /// state, no gradient; y_hat[b * stride_out + t]. Any number of steps.
    bool forward(const T* x, std::size_t stride, int steps, T* y_hat,
                 std::size_t stride_out) noexcept {
        if (batch_ < 1 || steps < 0) return false;
        switch (nb_) {
            case 1: forward_only<1>(x, stride, steps, y_hat, stride_out); break;
            case 2: forward_only<2>(x, stride, steps, y_hat, stride_out); break;
            default: forward_only<4>(x, stride, steps, y_hat, stride_out); break;
        }
        return true;
    }

    /// Loss, gradient (grad()) and new state over one chunk of the current batch.
    /// prev_y / prev_hat: the target and prediction just before the chunk per row (null: 0).
    /// y_hat (optional) receives the predictions [b * stride_out + t].
    bool loss_and_grad(const T* x, const T* y, std::size_t stride, int steps, const T* prev_y,
                       const T* prev_hat, double coefficient, double dc_weight, ChunkLoss& out,
                       T* y_hat = nullptr, std::size_t stride_out = 0) noexcept {
        if (batch_ < 1 || steps < 1 || steps > max_steps_) return false;
        gather(x, stride, steps);
        switch (nb_) {
            case 1: forward_tiles<1>(steps); break;
            case 2: forward_tiles<2>(steps); break;
            default: forward_tiles<4>(steps); break;
        }
        out = chunk_loss(y, stride, steps, prev_y, prev_hat, coefficient, dc_weight);
        if (y_hat) scatter(yh_.data(), steps, y_hat, stride_out);
        std::fill(grad_.begin(), grad_.end(), T(0));
        if (!std::isfinite(out.loss)) return true;
        std::fill(acc_.begin(), acc_.end(), T(0));
        transpose_weights();
        switch (nb_) {
            case 1: backward_tiles<1>(steps); break;
            case 2: backward_tiles<2>(steps); break;
            default: backward_tiles<4>(steps); break;
        }
        for (std::size_t p = 0; p < n_params_; ++p) grad_[p] = K::hsum(acc_.data() + p * W);
        return true;
    }

private:
    struct Offsets {
        std::size_t w_ih = 0, w_hh = 0, b_ih = 0, b_hh = 0;
    };

    /// Registers of rows per tile for `batch` rows: fixed by tile_regs, else 1, 2 or 4.
    void choose_tiles(int batch) noexcept {
        nb_ = tile_regs_ ? tile_regs_ : (batch <= W ? 1 : batch <= 2 * W ? 2 : 4);
        l_ = nb_ * W;
        tiles_ = (batch + l_ - 1) / l_;
    }

    std::size_t hl() const noexcept { return static_cast<std::size_t>(h_) * l_; }
    std::size_t ghl() const noexcept { return hl() * g_; }
    std::size_t lt(int k, int tile) const noexcept {
        return static_cast<std::size_t>(k) * tiles_ + tile;
    }
    // Stored activations of the current segment, at step t of it (states: 0..seg_).
    T* hs(int k, int tile, int t) noexcept {
        return hs_.data() + (lt(k, tile) * (seg_ + 1) + t) * hl();
    }
    T* cs(int k, int tile, int t) noexcept {
        return cs_.data() + (lt(k, tile) * (seg_ + 1) + t) * hl();
    }
    T* gates(int k, int tile, int t) noexcept {
        return gates_.data() + (lt(k, tile) * seg_ + t) * ghl();
    }
    T* hn(int k, int tile, int t) noexcept {
        return cell_ == Cell::gru ? hn_.data() + (lt(k, tile) * seg_ + t) * hl() : nullptr;
    }
    /// Offset of the state at the start of segment s (checkpoints of the forward pass), laid
    /// out [segment][layer][tile][H][L] like state_h_ per segment.
    std::size_t checkpoint(int tile, int s) const noexcept {
        return (static_cast<std::size_t>(s) * layers_ * tiles_ + tile) * hl();
    }
    T* row(AlignedVector<T>& v, int tile, int t) noexcept {
        return v.data() + (static_cast<std::size_t>(tile) * max_steps_ + t) * l_;
    }
    rnn_kernels::LayerWeights<T> weights(int k) const noexcept {
        const T* p = params_.data();
        const std::size_t gh = static_cast<std::size_t>(g_) * h_;
        return {p + off_[k].w_ih, p + off_[k].w_hh, p + off_[k].b_ih, p + off_[k].b_hh,
                wt_.data() + (2 * static_cast<std::size_t>(k)) * gh * h_,
                wt_.data() + (2 * static_cast<std::size_t>(k) + 1) * gh * h_, in_size(k), h_};
    }
    rnn_kernels::LayerGrads<T> grads(int k) noexcept {
        T* a = acc_.data();
        return {a + off_[k].w_ih * W, a + off_[k].w_hh * W, a + off_[k].b_ih * W,
                a + off_[k].b_hh * W};
    }

    /// f(layer, row, unit, index in the state buffers) for every row < batch.
    template <typename F>
    void for_rows(int batch, F f) const noexcept {
        for (int k = 0; k < layers_; ++k)
            for (int b = 0; b < batch; ++b)
                for (int j = 0; j < h_; ++j)
                    f(k, b, j, (lt(k, b / l_) * h_ + j) * l_ + b % l_);
    }

    /// Transposed weight_hh (and weight_ih for layers > 0): [H][G*H], for the backward products.
    void transpose_weights() noexcept {
        const int gh = g_ * h_;
        const std::size_t size = static_cast<std::size_t>(gh) * h_;
        for (int k = 0; k < layers_; ++k) {
            const auto w = weights(k);
            T* hh = wt_.data() + 2 * k * size;
            T* ih = hh + size;
            for (int r = 0; r < gh; ++r)
                for (int j = 0; j < h_; ++j) {
                    hh[j * gh + r] = w.hh[r * h_ + j];
                    if (k > 0) ih[j * gh + r] = w.ih[r * h_ + j];
                }
        }
    }

    void gather(const T* x, std::size_t stride, int steps) noexcept {
        for (int tile = 0; tile < tiles_; ++tile)
            for (int t = 0; t < steps; ++t) {
                T* dst = row(xs_, tile, t);
                for (int q = 0; q < l_; ++q) {
                    const int b = tile * l_ + q;
                    dst[q] = b < batch_ ? x[b * stride + t] : T(0);
                }
            }
    }

    void scatter(T* src, int steps, T* y_hat, std::size_t stride_out) noexcept {
        for (int b = 0; b < batch_; ++b)
            for (int t = 0; t < steps; ++t)
                y_hat[b * stride_out + t] = src[(static_cast<std::size_t>(b / l_) * max_steps_ + t) * l_ + b % l_];
    }

    template <int NB>
    void layer_step(int k, const T* u, const T* h, T* h_out, const T* c, T* c_out, T* g,
                    T* hn_out) const noexcept {
        const auto w = weights(k);
        if (cell_ == Cell::gru)
            K::template gru_forward<NB>(w, u, h, h_out, g, hn_out);
        else
            K::template lstm_forward<NB>(w, u, h, c, h_out, c_out, g);
    }

    /// Forward over steps t0 .. t0 + len of one tile from the state in hs/cs(.., 0), storing
    /// the segment's activations and the predictions.
    template <int NB>
    void forward_segment(int tile, int t0, int len) noexcept {
        const T* head = params_.data() + head_w_;
        const bool lstm = cell_ == Cell::lstm;
        for (int i = 0; i < len; ++i) {
            const T* x = row(xs_, tile, t0 + i);
            const T* u = x;
            for (int k = 0; k < layers_; ++k) {
                layer_step<NB>(k, u, hs(k, tile, i), hs(k, tile, i + 1),
                               lstm ? cs(k, tile, i) : nullptr, lstm ? cs(k, tile, i + 1) : nullptr,
                               gates(k, tile, i), hn(k, tile, i));
                u = hs(k, tile, i + 1);
            }
            K::template head_forward<NB>(head, h_, u, x, skip_, row(yh_, tile, t0 + i));
        }
    }

    /// Copy the layer states between the segment buffers' step `at` and h_other / c_other
    /// (a checkpoint or the carried state, layers tiles_ * H * L apart); to_buffer: into the
    /// buffers.
    void move_state(int tile, int at, T* h_other, T* c_other, bool to_buffer) noexcept {
        const std::size_t hsz = hl();
        for (int k = 0; k < layers_; ++k) {
            T* h = h_other + k * tiles_ * hsz;
            if (to_buffer) std::copy_n(h, hsz, hs(k, tile, at));
            else std::copy_n(hs(k, tile, at), hsz, h);
            if (cell_ == Cell::lstm) {
                T* c = c_other + k * tiles_ * hsz;
                if (to_buffer) std::copy_n(c, hsz, cs(k, tile, at));
                else std::copy_n(cs(k, tile, at), hsz, c);
            }
        }
    }

    /// The whole chunk forward, segment by segment: the state at each segment's start is kept
    /// (checkpoint), the buffers end holding the last segment's activations.
    template <int NB>
    void forward_tiles(int steps) noexcept {
        const std::size_t hsz = hl();
        const bool lstm = cell_ == Cell::lstm;
        for (int tile = 0; tile < tiles_; ++tile) {
            T* sh = state_h_.data() + lt(0, tile) * hsz;
            T* sc = lstm ? state_c_.data() + lt(0, tile) * hsz : nullptr;
            move_state(tile, 0, sh, sc, true);
            int len = 0;
            for (int s = 0, t0 = 0; t0 < steps; ++s, t0 += seg_) {
                if (s > 0) {
                    move_state(tile, len, ck_h_.data() + checkpoint(tile, s),
                               lstm ? ck_c_.data() + checkpoint(tile, s) : nullptr, false);
                    move_state(tile, 0, ck_h_.data() + checkpoint(tile, s),
                               lstm ? ck_c_.data() + checkpoint(tile, s) : nullptr, true);
                } else {
                    move_state(tile, 0, ck_h_.data() + checkpoint(tile, 0),
                               lstm ? ck_c_.data() + checkpoint(tile, 0) : nullptr, false);
                }
                len = std::min(seg_, steps - t0);
                forward_segment<NB>(tile, t0, len);
            }
            move_state(tile, len, sh, sc, false);
        }
    }

    template <int NB>
    void forward_only(const T* x, std::size_t stride, int steps, T* y_hat,
                      std::size_t stride_out) noexcept {
        const T* head = params_.data() + head_w_;
        const std::size_t hsz = hl();
        T* g = scratch_.data();
        T* hn_buf = g + ghl();
        T* xin = hn_buf + hsz;
        T yv[NB * W];
        const bool lstm = cell_ == Cell::lstm;
        for (int tile = 0; tile < tiles_ && tile * l_ < batch_; ++tile) {
            for (int k = 0; k < layers_; ++k) {
                std::copy_n(state_h_.data() + lt(k, tile) * hsz, hsz, fh_.data() + 2 * k * hsz);
                if (lstm)
                    std::copy_n(state_c_.data() + lt(k, tile) * hsz, hsz, fc_.data() + 2 * k * hsz);
            }
            const int rows = std::min(l_, batch_ - tile * l_);
            for (int t = 0; t < steps; ++t) {
                const int cur = t & 1, nxt = cur ^ 1;
                for (int q = 0; q < l_; ++q)
                    xin[q] = q < rows ? x[(tile * l_ + q) * stride + t] : T(0);
                const T* u = xin;
                for (int k = 0; k < layers_; ++k) {
                    T* h = fh_.data() + (2 * k + cur) * hsz;
                    T* h_out = fh_.data() + (2 * k + nxt) * hsz;
                    T* c = fc_.data() + (2 * k + cur) * hsz;
                    T* c_out = fc_.data() + (2 * k + nxt) * hsz;
                    layer_step<NB>(k, u, h, h_out, c, c_out, g, hn_buf);
                    u = h_out;
                }
                K::template head_forward<NB>(head, h_, u, xin, skip_, yv);
                for (int q = 0; q < rows; ++q) y_hat[(tile * l_ + q) * stride_out + t] = yv[q];
            }
            const int last = steps & 1;
            for (int k = 0; k < layers_; ++k) {
                std::copy_n(fh_.data() + (2 * k + last) * hsz, hsz, state_h_.data() + lt(k, tile) * hsz);
                if (lstm)
                    std::copy_n(fc_.data() + (2 * k + last) * hsz, hsz,
                                state_c_.data() + lt(k, tile) * hsz);
            }
        }
    }

    /// The loss over the batch's rows (rnn_loss.h); leaves dLoss/dy_hat in dy_ (0 in padding
    /// lanes).
    ChunkLoss chunk_loss(const T* y, std::size_t stride, int steps, const T* prev_y,
                         const T* prev_hat, double c, double w) noexcept {
        for (int tile = 0; tile < tiles_; ++tile)
            for (int t = 0; t < steps; ++t) std::fill_n(row(dy_, tile, t), l_, T(0));
        return rnn_loss::chunk_loss<T>(
            batch_, steps, y, stride, prev_y, prev_hat, c, w,
            [this](int b, int t) { return double(row(yh_, b / l_, t)[b % l_]); },
            [this](int b, int t) -> T& { return row(dy_, b / l_, t)[b % l_]; });
    }

    template <int NB>
    void backward_tiles(int steps) noexcept {
        const T* head = params_.data() + head_w_;
        T* head_acc = acc_.data() + head_w_ * W;
        const std::size_t hsz = hl();
        const int top = layers_ - 1;
        const bool lstm = cell_ == Cell::lstm;
        const int n_seg = (steps + seg_ - 1) / seg_;
        for (int tile = 0; tile < tiles_; ++tile) {
            std::fill(dh_.begin(), dh_.end(), T(0));
            std::fill(dc_.begin(), dc_.end(), T(0));
            for (int s = n_seg - 1; s >= 0; --s) {
                const int t0 = s * seg_, len = std::min(seg_, steps - t0);
                if (s < n_seg - 1) {  // the last segment is still in the buffers
                    move_state(tile, 0, ck_h_.data() + checkpoint(tile, s),
                               lstm ? ck_c_.data() + checkpoint(tile, s) : nullptr, true);
                    forward_segment<NB>(tile, t0, len);
                }
                for (int i = len - 1; i >= 0; --i) {
                    const int t = t0 + i;
                    T* d_top = dh_.data() + top * hsz;
                    K::template head_backward<NB>(head, h_, hs(top, tile, i + 1),
                                                  row(dy_, tile, t), d_top, head_acc);
                    for (int k = top; k >= 0; --k) {
                        T* d = dh_.data() + k * hsz;
                        if (k < top) K::template add<NB>(d, below_.data(), h_);
                        const T* u = k == 0 ? row(xs_, tile, t) : hs(k - 1, tile, i + 1);
                        T* below = k > 0 ? below_.data() : nullptr;
                        const auto w = weights(k);
                        if (cell_ == Cell::gru)
                            K::template gru_backward<NB>(w, u, hs(k, tile, i), gates(k, tile, i),
                                                         hn(k, tile, i), d, below, gi_.data(),
                                                         gh_.data(), grads(k));
                        else
                            K::template lstm_backward<NB>(w, u, hs(k, tile, i), cs(k, tile, i),
                                                          cs(k, tile, i + 1), gates(k, tile, i),
                                                          d, dc_.data() + k * hsz, below,
                                                          gi_.data(), grads(k));
                    }
                }
            }
        }
    }

    Cell cell_ = Cell::gru;
    int h_ = 0, g_ = 0, layers_ = 0, nb_ = 1, l_ = 0, max_batch_ = 0, max_steps_ = 0, tiles_ = 0;
    int seg_ = 1;  // steps per stored segment (the rest is recomputed from checkpoints)
    int batch_ = 0, tile_regs_ = 0;
    bool skip_ = false;
    Offsets off_[max_layers];
    std::size_t head_w_ = 0, n_params_ = 0;
    AlignedVector<T> params_, grad_, acc_, wt_, state_h_, state_c_, hs_, cs_, gates_, hn_, xs_,
        yh_, dy_, fh_, fc_, dh_, dc_, gi_, gh_, below_, scratch_, ck_h_, ck_c_;
};

}  // namespace VASHRINK_NAMESPACE
