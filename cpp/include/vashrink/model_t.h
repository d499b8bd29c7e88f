#pragma once
// The compile-time model: layer sizes and activations are template parameters (like RTNeural's
// ModelT), so the kernels' loops have constant trip counts the compiler unrolls, and the whole
// model lives in one object with no heap. Generated headers (vashrink.export.to_cpp) instantiate
// it and call each layer's load() with embedded weights.
//
// A leading run of layers may be GRUs or LSTMs (GruLayerT / LstmLayerT, gru.h / lstm.h; each
// fed the previous one's state h, which it returns from forward): the model is then stateful
// (forward carries the state, reset() zeroes every layer's, process_block runs per sample).
// SkipModelT is the same model with the input added to its output (y += x; one input, one
// output), as recurrent amp models are usually trained.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <tuple>
#include <type_traits>
#include <utility>

#include "vashrink/config.h"
#include "vashrink/dense.h"
#include "vashrink/gru.h"
#include "vashrink/lstm.h"

namespace VASHRINK_NAMESPACE {

/// y = act(W x + b) with In inputs and Out outputs, W row-major [Out][In].
template <typename T, int In, int Out, Activation A = Activation::none>
class DenseT {
    static_assert(In >= 1 && Out >= 1, "layer sizes must be at least 1");
    static_assert(is_valid(A), "unknown activation");

public:
    using value_type = T;
    static constexpr int in_size = In;
    static constexpr int out_size = Out;
    static constexpr Activation activation = A;
    static constexpr int out_padded = simd::padded<T>(Out);

    /// Copy and repack the weights. False (and the layer zeroed) if any value is not finite or
    /// a PReLU layer gets no slopes.
    bool load(const T* weight, const T* bias, const T* prelu_slopes = nullptr) noexcept {
        zero();
        if (weight == nullptr || bias == nullptr) return false;
        if (A == Activation::prelu && prelu_slopes == nullptr) return false;
        for (std::size_t i = 0; i < std::size_t(In) * Out; ++i) {
            if (!std::isfinite(weight[i])) return false;
        }
        for (int o = 0; o < Out; ++o) {
            if (!std::isfinite(bias[o])) return false;
            if (A == Activation::prelu && !std::isfinite(prelu_slopes[o])) return false;
        }
        std::copy(weight, weight + std::size_t(In) * Out, rows_);
        std::copy(bias, bias + Out, bias_);
        if (A == Activation::prelu) std::copy(prelu_slopes, prelu_slopes + Out, slopes_);
        dense::pack_sample_weights(weight, In, Out, packed_);
        return true;
    }

    /// x: padded<T>(In) values (lane-padded); y: out_padded values.
    VASHRINK_INLINE void forward(const T* x, T* y) const noexcept {
        dense::forward_sample<T, A>(packed_, bias_, slopes_, x, In, Out, y);
    }

    /// X [In][stride] -> Y [Out][stride], n_columns samples (a multiple of the lanes).
    VASHRINK_INLINE void forward_block(const T* x, T* y, std::size_t stride, int n_columns) const noexcept {
        dense::forward_block<T, A>(rows_, bias_, slopes_, In, Out, x, y, stride, n_columns);
    }

private:
    void zero() noexcept {
        std::fill(std::begin(packed_), std::end(packed_), T(0));
        std::fill(std::begin(rows_), std::end(rows_), T(0));
        std::fill(std::begin(bias_), std::end(bias_), T(0));
        std::fill(std::begin(slopes_), std::end(slopes_), T(0));
    }

    alignas(64) T packed_[dense::packed_size<T>(In, Out)] = {};
    alignas(64) T rows_[std::size_t(In) * Out] = {};
    alignas(64) T bias_[out_padded] = {};
    alignas(64) T slopes_[out_padded] = {};
};

namespace detail {
template <typename First, typename... Rest>
struct Chain {
    static constexpr bool ok = true;
    static constexpr int max_width = First::out_size;
    static constexpr int out = First::out_size;
};
template <typename First, typename Second, typename... Rest>
struct Chain<First, Second, Rest...> {
    static constexpr bool ok = First::out_size == Second::in_size && Chain<Second, Rest...>::ok;
    static constexpr int max_width = std::max(First::out_size, Chain<Second, Rest...>::max_width);
    static constexpr int out = Chain<Second, Rest...>::out;
};
template <typename First, typename... Rest>
struct FirstOf {
    using type = First;
};

/// Whether a layer type carries state (GruLayerT, LstmLayerT declare `stateful = true`).
template <typename L, typename = void>
struct IsStateful : std::false_type {};
template <typename L>
struct IsStateful<L, std::void_t<decltype(L::stateful)>> : std::bool_constant<L::stateful> {};

/// Whether the stateful layers form a prefix (no GRU/LSTM after a dense layer).
template <typename... Ls>
constexpr bool stateful_prefix() noexcept {
    constexpr bool flags[] = {IsStateful<Ls>::value...};
    bool dense_seen = false;
    for (bool stateful : flags) {
        if (stateful && dense_seen) return false;
        dense_seen = dense_seen || !stateful;
    }
    return true;
}
template <typename... Ls>
constexpr int count_stateful() noexcept {
    return (0 + ... + (IsStateful<Ls>::value ? 1 : 0));
}
template <typename... Ls>
struct LastOf;
template <typename L>
struct LastOf<L> {
    using type = L;
};
template <typename L, typename... Ls>
struct LastOf<L, Ls...> {
    using type = typename LastOf<Ls...>::type;
};
}  // namespace detail

/// A chain of layers: DenseT layers, optionally after GruLayerT / LstmLayerT layers. Use the
/// aliases ModelT (no skip) and SkipModelT (y += x). Default-constructed weights are zero: call
/// each layer's load().
template <typename T, bool InputSkip, typename... Layers>
class BasicModelT {
    static_assert(sizeof...(Layers) >= 1, "a model needs at least one layer");
    static_assert(detail::Chain<Layers...>::ok, "each layer's In must equal the previous Out");
    static_assert(detail::stateful_prefix<Layers...>(),
                  "GRU/LSTM layers must come first, before every dense layer");

public:
    using value_type = T;
    static constexpr int in_size = detail::FirstOf<Layers...>::type::in_size;
    static constexpr int out_size = detail::Chain<Layers...>::out;
    static constexpr int n_layers = static_cast<int>(sizeof...(Layers));
    /// GRU/LSTM layers at the front, and whether there are any (state carried between calls).
    static constexpr int n_stateful = detail::count_stateful<Layers...>();
    static constexpr bool stateful = n_stateful > 0;
    static constexpr bool input_skip = InputSkip;
    static_assert(!InputSkip || (in_size == 1 && out_size == 1 &&
                                 !detail::IsStateful<typename detail::LastOf<Layers...>::type>::value),
                  "an input skip needs one input, one output and a dense last layer");
    /// Samples per block-mode pass (block buffers are members).
    static constexpr int chunk = 64;

    template <std::size_t I>
    auto& layer() noexcept {
        return std::get<I>(layers_);
    }
    template <std::size_t I>
    const auto& layer() const noexcept {
        return std::get<I>(layers_);
    }

    /// Zero the state of every GRU/LSTM layer (nothing to do for MLPs).
    void reset() noexcept { reset_stateful(std::make_index_sequence<n_stateful>{}); }

    VASHRINK_INLINE const T* forward(const T* in) noexcept {
        std::copy(in, in + in_size, staging_);
        T* y = run_sample(std::index_sequence_for<Layers...>{});
        if constexpr (InputSkip) y[0] += staging_[0];
        return y;
    }

    VASHRINK_INLINE T forward(T x) noexcept {
        static_assert(in_size == 1, "forward(T) is for 1-input models; use forward(const T*)");
        staging_[0] = x;
        T y = run_sample(std::index_sequence_for<Layers...>{})[0];
        if constexpr (InputSkip) y += x;
        return y;
    }

    void process(const T* in, T* out, int n_samples) noexcept {
        for (int s = 0; s < n_samples; ++s) {
            const T* y = forward(in + std::size_t(s) * in_size);
            std::copy(y, y + out_size, out + std::size_t(s) * out_size);
        }
    }

    /// Block mode (per sample for a stateful model, whose samples depend on each other).
    void process_block(const T* in, T* out, int n_samples) noexcept {
        if constexpr (stateful) {
            process(in, out, n_samples);
        } else {
            process_dense_blocks(in, out, n_samples);
        }
    }

private:
    template <std::size_t... I>
    void reset_stateful(std::index_sequence<I...>) noexcept {
        (std::get<I>(layers_).reset(), ...);
    }

    void process_dense_blocks(const T* in, T* out, int n_samples) noexcept {
        for (int off = 0; off < n_samples; off += chunk) {
            const int n = std::min(chunk, n_samples - off);
            const int n_cols = simd::padded<T>(n);
            for (int c = 0; c < in_size; ++c) {
                T* row = block_a_ + c * chunk;
                for (int s = 0; s < n; ++s) row[s] = in[std::size_t(off + s) * in_size + c];
                std::fill(row + n, row + n_cols, T(0));
            }
            const T* y = run_block(n_cols, std::index_sequence_for<Layers...>{});
            for (int c = 0; c < out_size; ++c) {
                for (int s = 0; s < n; ++s) {
                    T v = y[c * chunk + s];
                    if constexpr (InputSkip) v += in[std::size_t(off + s)];
                    out[std::size_t(off + s) * out_size + c] = v;
                }
            }
        }
    }

    static constexpr int width_ = std::max(in_size, detail::Chain<Layers...>::max_width);
    static constexpr int padded_ = simd::padded<T>(width_);

    /// Layer I on x; returns where its output is (a recurrent layer's own state, else a buffer).
    template <std::size_t I>
    VASHRINK_INLINE T* step(const T* x) noexcept {
        auto& layer = std::get<I>(layers_);
        if constexpr (detail::IsStateful<std::tuple_element_t<I, std::tuple<Layers...>>>::value) {
            // The next layer only reads it; a skip writes only a dense last layer's output.
            return const_cast<T*>(layer.forward(x));
        } else {
            T* y = I % 2 == 0 ? ping_ : pong_;
            layer.forward(x, y);
            return y;
        }
    }

    template <std::size_t... I>
    VASHRINK_INLINE T* run_sample(std::index_sequence<I...>) noexcept {
        T* x = staging_;
        ((x = step<I>(x)), ...);
        return x;
    }

    template <std::size_t... I>
    VASHRINK_INLINE const T* run_block(int n_cols, std::index_sequence<I...>) noexcept {
        const T* x = block_a_;
        ((std::get<I>(layers_).forward_block(x, I % 2 == 0 ? block_b_ : block_a_, chunk, n_cols),
          x = I % 2 == 0 ? block_b_ : block_a_),
         ...);
        return x;
    }

    std::tuple<Layers...> layers_;
    alignas(64) T staging_[simd::padded<T>(in_size)] = {};
    alignas(64) T ping_[padded_] = {};
    alignas(64) T pong_[padded_] = {};
    alignas(64) T block_a_[std::size_t(width_) * chunk] = {};
    alignas(64) T block_b_[std::size_t(width_) * chunk] = {};
};

/// A model without input skip: MLPs, or GRU/LSTM layers + dense (the type generated headers use).
template <typename T, typename... Layers>
using ModelT = BasicModelT<T, false, Layers...>;
/// The same with y += x (one input, one output).
template <typename T, typename... Layers>
using SkipModelT = BasicModelT<T, true, Layers...>;

}  // namespace VASHRINK_NAMESPACE
