#pragma once
// LSTM layers with torch's gate maths and one summed bias b = b_ih + b_hh (recurrent.h):
//   i = sigmoid(W_ii x + W_hi h + b_i), f = sigmoid(W_if x + W_hf h + b_f),
//   g = tanh(W_ig x + W_hg h + b_g),    o = sigmoid(W_io x + W_ho h + b_o),
//   c' = f c + i g,  h' = o tanh(c').
// LstmLayer<T> (sizes at load, Status) and LstmLayerT<T, In, H> (compile-time sizes, no heap):
// the same contract as the GRU layers in gru.h; the state is (h, c), forward() returns h.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <new>
#include <string>

#include "vashrink/config.h"
#include "vashrink/recurrent.h"
#include "vashrink/storage.h"

namespace VASHRINK_NAMESPACE {

template <typename T>
class LstmLayer {
public:
    static constexpr Cell cell = Cell::lstm;

    /// Validate and pack `spec` (torch layout; bias_hh optional); on failure the layer is empty.
    Status load(const RecurrentSpec<T>& spec) {
        clear();
        const std::string error = recurrent::check(spec, cell);
        if (!error.empty()) return Status::error(error);
        try {
            const std::size_t hp = static_cast<std::size_t>(simd::padded<T>(spec.hidden_size));
            ih_.assign(recurrent::ih_size<T>(spec.in_size, spec.hidden_size), T(0));
            hh_.assign(recurrent::hh_size<T>(cell, spec.hidden_size), T(0));
            bias_.assign(4 * hp, T(0));
            gx_.assign(4 * hp, T(0));
            h_.assign(2 * hp, T(0));
            c_.assign(hp, T(0));
        } catch (const std::bad_alloc&) {
            clear();
            return Status::error("LSTM: out of memory while loading");
        }
        recurrent::pack_layer(spec, ih_.data(), hh_.data(), bias_.data());
        in_ = spec.in_size;
        hidden_ = spec.hidden_size;
        hp_ = simd::padded<T>(hidden_);
        return {};
    }

    void clear() noexcept {
        ih_ = hh_ = bias_ = gx_ = h_ = c_ = AlignedVector<T>();
        in_ = hidden_ = hp_ = cur_ = 0;
    }

    bool loaded() const noexcept { return hidden_ > 0; }
    int in_size() const noexcept { return in_; }
    int hidden_size() const noexcept { return hidden_; }
    int out_size() const noexcept { return hidden_; }

    void reset() noexcept {
        std::fill(h_.begin(), h_.end(), T(0));
        std::fill(c_.begin(), c_.end(), T(0));
        cur_ = 0;
    }

    /// One sample of in_size() inputs; returns the state h.
    VASHRINK_INLINE const T* forward(const T* x) noexcept {
        if (hidden_ == 0) return empty_;
        T* h = h_.data();
        const int next = hp_ - cur_;
        recurrent::lstm_step(ih_.data(), bias_.data(), hh_.data(), x, in_, hidden_, gx_.data(),
                             h + cur_, h + next, c_.data());
        cur_ = next;
        return h + next;
    }

    /// The state h and the cell state c after the last forward (padded).
    const T* state() const noexcept { return hidden_ == 0 ? empty_ : h_.data() + cur_; }
    const T* cell_state() const noexcept { return hidden_ == 0 ? empty_ : c_.data(); }

private:
    AlignedVector<T> ih_, hh_, bias_, gx_, h_, c_;
    alignas(64) T empty_[simd::lanes_v<T>] = {};
    int in_ = 0;
    int hidden_ = 0;
    int hp_ = 0;
    int cur_ = 0;  // offset of the current h in h_ (0 or hp_)
};

template <typename T, int In, int H>
class LstmLayerT {
    static_assert(In >= 1 && H >= 1, "layer sizes must be at least 1");

public:
    using value_type = T;
    static constexpr Cell cell = Cell::lstm;
    static constexpr bool stateful = true;
    static constexpr int in_size = In;
    static constexpr int hidden_size = H;
    static constexpr int out_size = H;

    /// Copy and pack torch-layout weights: weight_ih [4H][In], weight_hh [4H][H], bias [4H]
    /// (b_ih + b_hh, or pass both). False (and the layer zeroed) on a missing array or a
    /// non-finite value.
    bool load(const T* weight_ih, const T* weight_hh, const T* bias, const T* bias_hh = nullptr) noexcept {
        zero();
        const RecurrentSpec<T> spec{cell, In, H, weight_ih, weight_hh, bias, bias_hh};
        if (!recurrent::check_ok(spec, cell)) return false;
        recurrent::pack_layer(spec, ih_, hh_, bias_);
        return true;
    }

    void reset() noexcept {
        std::fill(std::begin(h_), std::end(h_), T(0));
        std::fill(std::begin(c_), std::end(c_), T(0));
        cur_ = 0;
    }

    /// One sample (In values); returns the state h.
    VASHRINK_INLINE const T* forward(const T* x) noexcept {
        const int next = hp_ - cur_;
        recurrent::lstm_step(ih_, bias_, hh_, x, In, H, gx_, h_ + cur_, h_ + next, c_);
        cur_ = next;
        return h_ + next;
    }

    const T* state() const noexcept { return h_ + cur_; }
    const T* cell_state() const noexcept { return c_; }

private:
    static constexpr int hp_ = simd::padded<T>(H);

    void zero() noexcept {
        std::fill(std::begin(ih_), std::end(ih_), T(0));
        std::fill(std::begin(hh_), std::end(hh_), T(0));
        std::fill(std::begin(bias_), std::end(bias_), T(0));
        reset();
    }

    alignas(64) T ih_[recurrent::ih_size<T>(In, H)] = {};
    alignas(64) T hh_[recurrent::hh_size<T>(Cell::lstm, H)] = {};
    alignas(64) T bias_[4 * hp_] = {};
    alignas(64) T gx_[4 * hp_] = {};
    alignas(64) T h_[2 * hp_] = {};
    alignas(64) T c_[hp_] = {};
    int cur_ = 0;
};

}  // namespace VASHRINK_NAMESPACE
