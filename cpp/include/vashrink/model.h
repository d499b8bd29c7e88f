#pragma once
// The run-time model: an MLP, or a stack of 1..8 GRU/LSTM layers (recurrent_stack.h) followed by
// dense layers (with an optional input skip, y += x), whose sizes are read at load time (from
// Python, a file, a plugin's preset). load() validates everything and allocates everything;
// forward/process/process_block are noexcept and allocation-free. A recurrent model carries its
// state from one forward call to the next; reset() zeroes every layer's, and process_block runs
// it sample by sample (the state makes samples depend on each other).
//
// A model is either loaded or empty. A default-constructed model is empty; load() first empties
// the model (the previous weights are gone even if the new ones are refused), and on any failure
// (a validation error, or memory exhausted: load() catches std::bad_alloc) returns !ok and leaves
// it empty: loaded() false, in_size() == out_size() == n_layers() == chunk() == 0. On an empty
// model forward(const T*) reads nothing and returns a pointer to `lanes` zeros, forward(T)
// returns 0, process and process_block read and write nothing. So a caller that sizes its
// buffers from in_size()/out_size() never reads or writes past them.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "vashrink/config.h"
#include "vashrink/dense.h"
#include "vashrink/recurrent_stack.h"
#include "vashrink/storage.h"

namespace VASHRINK_NAMESPACE {

/// One dense layer as handed to Model::load: y = act(W x + b), W row-major [out][in].
template <typename T>
struct LayerSpec {
    int in_size = 0;
    int out_size = 0;
    Activation activation = Activation::none;
    const T* weight = nullptr;
    const T* bias = nullptr;
    const T* prelu_slopes = nullptr;  // out_size values, only for Activation::prelu
};

template <typename T>
class Model {
public:
    static constexpr int lanes = simd::lanes_v<T>;
    /// Largest number of samples one block-mode pass holds (block buffers are capped at ~1 MB).
    static constexpr int max_chunk = 256;

    /// Most units per layer (as the Python side's MAX_WIDTH) and weights per layer that load()
    /// accepts; within them no size computation overflows an int.
    static constexpr int max_units = 1 << 16;
    static constexpr std::size_t max_weights = std::size_t(1) << 28;

    /// Validate and copy `n_layers` layers; see the top of this file for what failure leaves.
    Status load(const LayerSpec<T>* specs, std::size_t n_layers) {
        clear();
        if (specs == nullptr || n_layers == 0) return Status::error("the model has no layers");
        for (std::size_t k = 0; k < n_layers; ++k) {
            Status st = check(specs[k], k, k == 0 ? 0 : specs[k - 1].out_size);
            if (!st.ok) return st;
        }
        return guarded_build(specs, n_layers);
    }

    /// A recurrent model: a stack of `n_rnn` (1..8) GRU/LSTM layers in torch layout, layer k > 0
    /// fed layer k - 1's state (in_size == its hidden_size), then `n_dense` >= 1 dense layers (the
    /// first takes the last hidden_size inputs); `input_skip` adds the input to the output (one
    /// input, one output). Failure leaves the model empty, as for MLPs.
    Status load(const RecurrentSpec<T>* rnn, std::size_t n_rnn, const LayerSpec<T>* dense,
                std::size_t n_dense, bool input_skip = false) {
        clear();
        Status st = rnn_.load(rnn, n_rnn);
        if (!st.ok) return st;
        const RecurrentSpec<T>& last = rnn[n_rnn - 1];
        const std::string cell = last.cell == Cell::gru ? "GRU" : "LSTM";
        const std::string what = n_rnn > 1 ? "the last " + cell + " (recurrent layer " +
                                                 std::to_string(n_rnn - 1) + ")"
                                           : "the " + cell;
        if (dense == nullptr || n_dense == 0) {
            clear();
            return Status::error("a recurrent model needs at least one dense layer after " + what +
                                 " (e.g. hidden -> 1)");
        }
        if (dense[0].in_size != last.hidden_size) {
            clear();
            return Status::error("dense layer 0: expects " + std::to_string(dense[0].in_size) +
                                 " inputs but " + what + " gives " + std::to_string(last.hidden_size));
        }
        for (std::size_t k = 0; k < n_dense; ++k) {
            st = check(dense[k], k, k == 0 ? 0 : dense[k - 1].out_size, "dense layer ");
            if (st.ok) continue;
            clear();
            return st;
        }
        if (input_skip && (rnn[0].in_size != 1 || dense[n_dense - 1].out_size != 1)) {
            clear();
            return Status::error("an input skip adds the input to the output: both must be one "
                                 "value (got " + std::to_string(rnn[0].in_size) + " -> " +
                                 std::to_string(dense[n_dense - 1].out_size) + ")");
        }
        st = guarded_build(dense, n_dense, rnn[0].in_size);
        if (!st.ok) return st;
        skip_ = input_skip;
        return {};
    }

    /// One recurrent layer (the stack overload with n_rnn = 1).
    Status load(const RecurrentSpec<T>& recurrent, const LayerSpec<T>* dense, std::size_t n_dense,
                bool input_skip = false) {
        return load(&recurrent, 1, dense, n_dense, input_skip);
    }

    /// Empty the model (frees its memory; not for the audio thread).
    void clear() noexcept {
        loaded_ = false;
        layers_ = std::vector<Layer>();
        staging_ = AlignedVector<T>();
        ping_ = AlignedVector<T>();
        pong_ = AlignedVector<T>();
        block_ping_ = AlignedVector<T>();
        block_pong_ = AlignedVector<T>();
        in_size_ = out_size_ = chunk_ = 0;
        rnn_.clear();
        skip_ = false;
    }

    bool loaded() const noexcept { return loaded_; }
    int in_size() const noexcept { return in_size_; }
    int out_size() const noexcept { return out_size_; }
    /// Layers including the recurrent ones.
    int n_layers() const noexcept { return static_cast<int>(layers_.size()) + n_recurrent(); }
    /// GRU/LSTM layers in the stack (0 for an MLP).
    int n_recurrent() const noexcept { return static_cast<int>(rnn_.n_layers()); }
    bool is_recurrent() const noexcept { return n_recurrent() > 0; }
    /// Cell of recurrent layer k (default: the first); Cell{} (0) for an MLP or k out of range.
    Cell cell(int k = 0) const noexcept { return k < 0 ? Cell{} : rnn_.cell(static_cast<std::size_t>(k)); }
    /// Hidden units of the last recurrent layer, which the dense head reads (0 for an MLP).
    int hidden_size() const noexcept { return rnn_.hidden_size(); }
    /// Hidden units of recurrent layer k (0 out of range).
    int hidden_size(int k) const noexcept {
        return k < 0 ? 0 : rnn_.hidden_size(static_cast<std::size_t>(k));
    }
    bool input_skip() const noexcept { return skip_; }
    /// Samples per internal block-mode pass.
    int chunk() const noexcept { return chunk_; }

    /// Zero the state of every recurrent layer (MLPs have none).
    void reset() noexcept { rnn_.reset(); }

    /// One sample of in_size() inputs; returns out_size() outputs valid until the next call.
    VASHRINK_INLINE const T* forward(const T* in) noexcept {
        if (!loaded_) return empty_;
        std::copy(in, in + in_size_, staging_.begin());
        const T* x = staging_.data();
        if (is_recurrent()) x = rnn_.forward(x);
        T* y = ping_.data();
        T* last = y;
        for (const Layer& l : layers_) {
            dense::forward_sample_rt<T>(l.act, l.packed.data(), l.bias_padded.data(),
                                        l.slopes_padded.data(), x, l.in, l.out, y);
            last = y;
            x = y;
            y = (y == ping_.data()) ? pong_.data() : ping_.data();
        }
        if (skip_) last[0] += staging_[0];
        return x;
    }

    /// One sample of a 1-input model; the first output.
    VASHRINK_INLINE T forward(T x) noexcept {
        if (!loaded_) return T(0);
        return forward(&x)[0];
    }

    /// Per-sample loop, the way a plugin calls a model: in [n][in_size], out [n][out_size].
    void process(const T* in, T* out, int n_samples) noexcept {
        if (!loaded_) return;
        for (int s = 0; s < n_samples; ++s) {
            const T* y = forward(in + static_cast<std::size_t>(s) * in_size_);
            std::copy(y, y + out_size_, out + static_cast<std::size_t>(s) * out_size_);
        }
    }

    /// Block mode: the samples go through each layer as one matrix product, chunk() at a time.
    /// A recurrent model runs them one by one (process), carrying its state.
    void process_block(const T* in, T* out, int n_samples) noexcept {
        if (!loaded_) return;
        if (is_recurrent()) {
            process(in, out, n_samples);
            return;
        }
        for (int off = 0; off < n_samples; off += chunk_) {
            const int n = std::min(chunk_, n_samples - off);
            run_chunk(in + static_cast<std::size_t>(off) * in_size_,
                      out + static_cast<std::size_t>(off) * out_size_, n);
        }
    }

private:
    struct Layer {
        int in = 0;
        int out = 0;
        Activation act = Activation::none;
        AlignedVector<T> packed, bias_padded, slopes_padded, rows, bias, slopes;
    };

    /// `kind` is "layer " for an MLP and "dense layer " after recurrent layers, whose dense
    /// array is numbered on its own.
    static Status check(const LayerSpec<T>& s, std::size_t k, int previous_out,
                        const char* kind = "layer ") {
        const std::string where = kind + std::to_string(k) + ": ";
        if (s.in_size < 1 || s.out_size < 1)
            return Status::error(where + "sizes must be at least 1 (got " + std::to_string(s.in_size) +
                                 " -> " + std::to_string(s.out_size) + ")");
        if (s.in_size > max_units || s.out_size > max_units)
            return Status::error(where + "more than " + std::to_string(max_units) + " units (got " +
                                 std::to_string(s.in_size) + " -> " + std::to_string(s.out_size) + ")");
        if (static_cast<std::size_t>(s.in_size) * static_cast<std::size_t>(s.out_size) > max_weights)
            return Status::error(where + "more than " + std::to_string(max_weights) + " weights");
        if (k > 0 && s.in_size != previous_out)
            return Status::error(where + "expects " + std::to_string(s.in_size) +
                                 " inputs but the previous layer gives " + std::to_string(previous_out));
        if (!is_valid(s.activation)) return Status::error(where + "unknown activation");
        if (s.weight == nullptr || s.bias == nullptr)
            return Status::error(where + "weight or bias missing");
        if (!all_finite(s.weight, static_cast<std::size_t>(s.in_size) * s.out_size))
            return Status::error(where + "weight contains NaN or Inf");
        if (!all_finite(s.bias, static_cast<std::size_t>(s.out_size)))
            return Status::error(where + "bias contains NaN or Inf");
        if (s.activation == Activation::prelu) {
            if (s.prelu_slopes == nullptr) return Status::error(where + "PReLU slopes missing");
            if (!all_finite(s.prelu_slopes, static_cast<std::size_t>(s.out_size)))
                return Status::error(where + "PReLU slopes contain NaN or Inf");
        }
        return {};
    }

    Status guarded_build(const LayerSpec<T>* specs, std::size_t n_layers, int in_size = 0) {
        try {
            build(specs, n_layers, in_size > 0 ? in_size : specs[0].in_size);
        } catch (const std::bad_alloc&) {
            clear();
            return Status::error("out of memory while loading the model");
        } catch (const std::length_error&) {
            clear();
            return Status::error("the model is too large to load");
        }
        return {};
    }

    /// Allocate and fill everything from validated specs (may throw std::bad_alloc).
    void build(const LayerSpec<T>* specs, std::size_t n_layers, int in_size) {
        layers_.reserve(n_layers);
        int max_width = std::max(in_size, specs[0].in_size);
        for (std::size_t k = 0; k < n_layers; ++k) {
            const LayerSpec<T>& s = specs[k];
            Layer layer;
            layer.in = s.in_size;
            layer.out = s.out_size;
            layer.act = s.activation;
            const std::size_t n_w = static_cast<std::size_t>(s.in_size) * s.out_size;
            layer.rows.assign(s.weight, s.weight + n_w);
            layer.bias.assign(s.bias, s.bias + s.out_size);
            layer.bias_padded.assign(simd::padded<T>(s.out_size), T(0));
            std::copy(s.bias, s.bias + s.out_size, layer.bias_padded.begin());
            layer.slopes.assign(s.out_size, T(0));
            layer.slopes_padded.assign(simd::padded<T>(s.out_size), T(0));
            if (s.activation == Activation::prelu) {
                std::copy(s.prelu_slopes, s.prelu_slopes + s.out_size, layer.slopes.begin());
                std::copy(s.prelu_slopes, s.prelu_slopes + s.out_size, layer.slopes_padded.begin());
            }
            layer.packed.assign(dense::packed_size<T>(s.in_size, s.out_size), T(0));
            dense::pack_sample_weights(s.weight, s.in_size, s.out_size, layer.packed.data());
            layers_.push_back(std::move(layer));
            max_width = std::max(max_width, s.out_size);
        }
        const std::size_t padded_width = static_cast<std::size_t>(simd::padded<T>(max_width));
        staging_.assign(simd::padded<T>(in_size), T(0));
        ping_.assign(padded_width, T(0));
        pong_.assign(padded_width, T(0));
        const int cap = (1 << 17) / max_width / lanes * lanes;
        const int chunk = std::max(lanes, std::min(max_chunk, cap));
        block_ping_.assign(static_cast<std::size_t>(max_width) * chunk, T(0));
        block_pong_.assign(static_cast<std::size_t>(max_width) * chunk, T(0));
        in_size_ = in_size;
        out_size_ = specs[n_layers - 1].out_size;
        chunk_ = chunk;
        loaded_ = true;
    }

    void run_chunk(const T* in, T* out, int n) noexcept {
        const int n_cols = simd::padded<T>(n);
        const std::size_t stride = static_cast<std::size_t>(chunk_);
        T* x = block_ping_.data();
        T* y = block_pong_.data();
        for (int c = 0; c < in_size_; ++c) {
            T* row = x + c * stride;
            for (int s = 0; s < n; ++s) row[s] = in[static_cast<std::size_t>(s) * in_size_ + c];
            std::fill(row + n, row + n_cols, T(0));
        }
        for (const Layer& l : layers_) {
            dense::forward_block_rt<T>(l.act, l.rows.data(), l.bias.data(), l.slopes.data(), l.in,
                                       l.out, x, y, stride, n_cols);
            std::swap(x, y);
        }
        for (int c = 0; c < out_size_; ++c) {
            const T* row = x + c * stride;
            for (int s = 0; s < n; ++s) out[static_cast<std::size_t>(s) * out_size_ + c] = row[s];
        }
    }

    std::vector<Layer> layers_;
    AlignedVector<T> staging_, ping_, pong_, block_ping_, block_pong_;
    alignas(64) T empty_[lanes] = {};  // what forward(const T*) returns on an empty model
    int in_size_ = 0;
    int out_size_ = 0;
    int chunk_ = 0;
    bool loaded_ = false;
    RecurrentStack<T> rnn_;
    bool skip_ = false;
};

}  // namespace VASHRINK_NAMESPACE
