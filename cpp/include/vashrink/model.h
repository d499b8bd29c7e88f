#pragma once
// The run-time model: an MLP whose sizes are read at load time (from Python, a file, a plugin's
// preset). load() validates everything and allocates everything; forward/process/process_block
// are noexcept and allocation-free.
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

namespace VASHRINK_NAMESPACE {

/// Result of a load: ok, or a message saying what was wrong.
struct Status {
    bool ok = true;
    std::string message;
    static Status error(std::string msg) { return {false, std::move(msg)}; }
};

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

/// Heap storage aligned to a cache line (so lane-packed rows start on register boundaries).
template <typename T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t alignment{64};
    AlignedAllocator() = default;
    template <typename U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, alignment); }
    template <typename U>
    bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
    template <typename U>
    bool operator!=(const AlignedAllocator<U>&) const noexcept { return false; }
};
template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

template <typename T>
bool all_finite(const T* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(p[i])) return false;
    }
    return true;
}

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
        try {
            build(specs, n_layers);
        } catch (const std::bad_alloc&) {
            clear();
            return Status::error("out of memory while loading the model");
        } catch (const std::length_error&) {
            clear();
            return Status::error("the model is too large to load");
        }
        return {};
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
    }

    bool loaded() const noexcept { return loaded_; }
    int in_size() const noexcept { return in_size_; }
    int out_size() const noexcept { return out_size_; }
    int n_layers() const noexcept { return static_cast<int>(layers_.size()); }
    /// Samples per internal block-mode pass.
    int chunk() const noexcept { return chunk_; }

    /// MLPs have no state; present so plugin code reads the same for stateful models.
    void reset() noexcept {}

    /// One sample of in_size() inputs; returns out_size() outputs valid until the next call.
    VASHRINK_INLINE const T* forward(const T* in) noexcept {
        if (!loaded_) return empty_;
        std::copy(in, in + in_size_, staging_.begin());
        const T* x = staging_.data();
        T* y = ping_.data();
        for (const Layer& l : layers_) {
            dense::forward_sample_rt<T>(l.act, l.packed.data(), l.bias_padded.data(),
                                        l.slopes_padded.data(), x, l.in, l.out, y);
            x = y;
            y = (y == ping_.data()) ? pong_.data() : ping_.data();
        }
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
    void process_block(const T* in, T* out, int n_samples) noexcept {
        if (!loaded_) return;
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

    static Status check(const LayerSpec<T>& s, std::size_t k, int previous_out) {
        const std::string where = "layer " + std::to_string(k) + ": ";
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

    /// Allocate and fill everything from validated specs (may throw std::bad_alloc).
    void build(const LayerSpec<T>* specs, std::size_t n_layers) {
        layers_.reserve(n_layers);
        int max_width = specs[0].in_size;
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
        const int in_size = specs[0].in_size;
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
};

}  // namespace VASHRINK_NAMESPACE
