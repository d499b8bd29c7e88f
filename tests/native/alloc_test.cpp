// Real-time safety, measured: the global allocator is replaced (operator new/delete in every
// form, and malloc/calloc/realloc/free/aligned_alloc/posix_memalign/memalign through glibc's
// __libc_* entry points) by versions that count calls while the test "arms" them, and every
// audio-thread call of every layer and model type must count zero: forward (both overloads),
// process, process_block (several block lengths, longer than a chunk too) and reset, after load,
// for float and double. The run-time Model<T> (MLPs of every activation, one or several GRU/LSTM
// layers, with and without input skip), the compile-time ModelT / SkipModelT (MLPs, recurrent
// stacks), the layers on their own (GruLayer, LstmLayer, their T forms, RecurrentStack, DenseT)
// and an empty model. Controls prove the hooks see allocations (new, malloc, a std::vector, and
// the engine's own load()), so the test cannot pass by not counting. No sanitizers here: they
// replace the allocator themselves. tests/native/test_native.py builds and runs it; by hand:
//   g++ -std=c++17 -O2 -march=native -Icpp/include tests/native/alloc_test.cpp -o /tmp/alloc_test
//   /tmp/alloc_test   (exit 0, last line "ok: N checks")
// Idea from NeuralAmpModelerCore's tools/test/allocation_tracking.h (written independently).
//
// Plain `inline` instead of the engine's always_inline, as in engine_test.cpp: it keeps the build
// short, and whether a call allocates does not depend on inlining.
#ifndef VASHRINK_INLINE
#  define VASHRINK_INLINE inline
#endif

#include <malloc.h>
#include <mm_malloc.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <tuple>
#include <type_traits>

#if !defined(__GLIBC__)
#  error "alloc_test.cpp counts malloc through glibc's __libc_* functions: build it on glibc"
#endif

namespace counting {
std::atomic<bool> armed{false};
std::atomic<long> calls{0};
inline void note() noexcept {
    if (armed.load(std::memory_order_relaxed)) calls.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace counting

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
    counting::note();
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
    counting::note();
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
    counting::note();
    return __libc_realloc(p, n);
}
void free(void* p) noexcept {
    if (p != nullptr) counting::note();
    __libc_free(p);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
    counting::note();
    return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
    counting::note();
    return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
    counting::note();
    *out = __libc_memalign(align, n);
    return *out != nullptr ? 0 : ENOMEM;
}
}

namespace counting {
inline void* take(std::size_t n, std::size_t align) {
    note();
    void* p = align <= alignof(std::max_align_t) ? __libc_malloc(n ? n : 1)
                                                   : __libc_memalign(align, n ? n : 1);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
inline void give(void* p) noexcept {
    if (p == nullptr) return;
    note();
    __libc_free(p);
}
}  // namespace counting

void* operator new(std::size_t n) { return counting::take(n, 0); }
void* operator new[](std::size_t n) { return counting::take(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counting::take(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counting::take(n, std::size_t(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try { return counting::take(n, 0); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try { return counting::take(n, 0); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try { return counting::take(n, std::size_t(a)); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try { return counting::take(n, std::size_t(a)); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { counting::give(p); }
void operator delete[](void* p) noexcept { counting::give(p); }
void operator delete(void* p, std::size_t) noexcept { counting::give(p); }
void operator delete[](void* p, std::size_t) noexcept { counting::give(p); }
void operator delete(void* p, std::align_val_t) noexcept { counting::give(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counting::give(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counting::give(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counting::give(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counting::give(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counting::give(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counting::give(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { counting::give(p); }

#include "engine_test_support.h"
#include "vashrink/vashrink.h"

namespace {

using vashrink::Cell;
using vashrink::GruLayerT;
using vashrink::LstmLayerT;

/// Allocator calls (allocations and frees) made while `f` runs.
template <typename F>
long calls_in(F&& f) {
    counting::calls.store(0);
    counting::armed.store(true);
    f();
    counting::armed.store(false);
    return counting::calls.load();
}

#define CHECK_NO_ALLOC(what, ...)                                                              \
    do {                                                                                       \
        const long n_ = calls_in([&] { __VA_ARGS__; });                                        \
        ++g_checks;                                                                            \
        if (n_ != 0) fail(__FILE__, __LINE__, what, std::to_string(n_) + " allocator call(s)"); \
    } while (0)

volatile double g_sink = 0;  // keeps the outputs alive

/// A compile-time model's in_size (0 for the run-time Model, whose in_size() is a function).
template <typename M, typename = void>
struct FixedIn : std::integral_constant<int, 0> {};
template <typename M>
struct FixedIn<M, std::enable_if_t<std::is_same_v<decltype(M::in_size), const int>>>
    : std::integral_constant<int, M::in_size> {};

/// Every audio-thread call of a model with `in` inputs and `out` outputs.
template <typename M, typename T>
void check_calls(M& m, int in, int out) {
    constexpr int n = 600;  // longer than any chunk (64 compile-time, <= 256 run-time)
    const std::vector<T> x = inputs<T>(in, 11);  // 150 rows, repeated below
    std::vector<T> xs(std::size_t(n) * in), y(std::size_t(n) * out);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = x[i % x.size()];
    double acc = 0;
    CHECK_NO_ALLOC("forward(const T*)", for (int s = 0; s < n; ++s) acc += double(m.forward(xs.data() + std::size_t(s) * in)[0]));
    if constexpr (std::is_invocable_v<decltype(&M::reset), M&>) CHECK_NO_ALLOC("reset", m.reset());
    if constexpr (FixedIn<M>::value <= 1) {  // forward(T) exists for one input only
        if (in == 1) CHECK_NO_ALLOC("forward(T)", for (int s = 0; s < n; ++s) acc += double(m.forward(xs[std::size_t(s)])));
    }
    CHECK_NO_ALLOC("process", m.process(xs.data(), y.data(), n));
    acc += double(y.back());
    for (int block : {1, 7, 64, 65, 256, 257, n}) {
        CHECK_NO_ALLOC("process_block", m.process_block(xs.data(), y.data(), block));
        acc += double(y[std::size_t(block - 1) * out]);
    }
    g_sink = g_sink + acc;
}

/// Torch-layout weights of one recurrent layer.
template <typename T>
struct RnnW {
    Cell cell;
    int in, hidden;
    std::vector<T> w_ih, w_hh, b_ih, b_hh;
    vashrink::RecurrentSpec<T> spec() const {
        return {cell, in, hidden, w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()};
    }
};

template <typename T>
RnnW<T> rnn_weights(Cell cell, int in, int hidden, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-0.4, 0.4);
    const std::size_t rows = std::size_t(vashrink::gate_count(cell)) * hidden;
    const auto fill = [&](std::size_t size) {
        std::vector<T> v(size);
        for (T& e : v) e = T(u(rng));
        return v;
    };
    return {cell, in, hidden, fill(rows * in), fill(rows * hidden), fill(rows), fill(rows)};
}

/// The run-time Model<T>: MLPs of every activation and shape, empty, recurrent stacks.
template <typename T>
void check_runtime() {
    unsigned seed = 1;
    for (Activation a : kAll) {
        for (const std::vector<int>& sizes : {std::vector<int>{1, 1, 1}, std::vector<int>{1, 9, 17, 1},
                                              std::vector<int>{3, 44, 44, 2}}) {
            const Net<T> net = make_net<T>(sizes, std::vector<Activation>(sizes.size() - 1, a), ++seed);
            g_context = "Model<T> " + describe(net);
            const auto specs = net.specs();
            vashrink::Model<T> m;
            const long at_load = calls_in([&] { CHECK(m.load(specs.data(), specs.size()).ok); });
            CHECK(at_load > 0);  // control: the hooks see the engine's own allocations
            check_calls<vashrink::Model<T>, T>(m, sizes.front(), sizes.back());
        }
    }
    g_context = "Model<T> empty";
    vashrink::Model<T> empty;
    check_calls<vashrink::Model<T>, T>(empty, 1, 1);

    const std::vector<std::vector<std::pair<Cell, int>>> stacks = {
        {{Cell::gru, 8}}, {{Cell::lstm, 13}}, {{Cell::gru, 5}, {Cell::lstm, 16}},
        {{Cell::lstm, 3}, {Cell::gru, 16}, {Cell::lstm, 2}}};
    for (const auto& shape : stacks) {
        for (bool skip : {false, true}) {
            std::vector<RnnW<T>> layers;
            int in = 1;
            for (const auto& [cell, hidden] : shape) layers.push_back(rnn_weights<T>(cell, in, hidden, ++seed)), in = hidden;
            std::vector<vashrink::RecurrentSpec<T>> specs;
            for (const auto& l : layers) specs.push_back(l.spec());
            const Net<T> head = make_net<T>({in, 4, 1}, {Activation::tanh, Activation::none}, ++seed);
            const auto dense = head.specs();
            g_context = "Model<T> recurrent, " + std::to_string(shape.size()) + " layer(s), skip " + std::to_string(skip);
            vashrink::Model<T> m;
            CHECK(m.load(specs.data(), specs.size(), dense.data(), dense.size(), skip).ok);
            check_calls<vashrink::Model<T>, T>(m, 1, 1);

            vashrink::RecurrentStack<T> stack;  // the stack on its own
            CHECK(stack.load(specs.data(), specs.size()).ok);
            std::vector<T> x = inputs<T>(1, ++seed);
            double acc = 0;
            CHECK_NO_ALLOC("RecurrentStack::forward", for (T v : x) acc += double(stack.forward(&v)[0]));
            CHECK_NO_ALLOC("RecurrentStack::reset", stack.reset());
            g_sink = g_sink + acc;
        }
    }
}

/// A layer's forward and reset, alone (run-time or compile-time GRU/LSTM).
template <typename L, typename T>
void check_layer(L& layer, const char* what) {
    g_context = what;
    const std::vector<T> x = inputs<T>(1, 5);
    double acc = 0;
    CHECK_NO_ALLOC("layer forward", for (T v : x) acc += double(layer.forward(&v)[0]));
    CHECK_NO_ALLOC("layer reset", layer.reset());
    g_sink = g_sink + acc;
}

template <typename T>
void check_layers() {
    const RnnW<T> g = rnn_weights<T>(Cell::gru, 1, 12, 3), l = rnn_weights<T>(Cell::lstm, 1, 12, 4);
    vashrink::GruLayer<T> gru;
    vashrink::LstmLayer<T> lstm;
    CHECK(gru.load(g.spec()).ok && lstm.load(l.spec()).ok);
    check_layer<vashrink::GruLayer<T>, T>(gru, "GruLayer<T>");
    check_layer<vashrink::LstmLayer<T>, T>(lstm, "LstmLayer<T>");
    auto gru_t = std::make_unique<GruLayerT<T, 1, 12>>();
    auto lstm_t = std::make_unique<LstmLayerT<T, 1, 12>>();
    CHECK(gru_t->load(g.w_ih.data(), g.w_hh.data(), g.b_ih.data(), g.b_hh.data()));
    CHECK(lstm_t->load(l.w_ih.data(), l.w_hh.data(), l.b_ih.data(), l.b_hh.data()));
    check_layer<GruLayerT<T, 1, 12>, T>(*gru_t, "GruLayerT<T, 1, 12>");
    check_layer<LstmLayerT<T, 1, 12>, T>(*lstm_t, "LstmLayerT<T, 1, 12>");

    g_context = "DenseT<T, 5, 9, tanh>";
    const Net<T> d = make_net<T>({5, 9}, {Activation::tanh}, 6);
    auto dense = std::make_unique<DenseT<T, 5, 9, Activation::tanh>>();
    CHECK(dense->load(d.w[0].data(), d.b[0].data()));
    constexpr int cols = 64;
    std::vector<T> x(std::size_t(5) * cols, T(0.25)), y(std::size_t(9) * cols);
    CHECK_NO_ALLOC("DenseT::forward", dense->forward(x.data(), y.data()));
    CHECK_NO_ALLOC("DenseT::forward_block", dense->forward_block(x.data(), y.data(), cols, cols));
    g_sink = g_sink + double(y[0]);
}

/// A compile-time MLP In -> D x W (A) -> Out.
template <typename T, int In, int D, int W, int Out, Activation A>
void check_mlp_t(unsigned seed) {
    using M = MlpT<T, In, D, W, Out, A, Activation::none>;
    std::vector<int> sizes{In};
    std::vector<Activation> acts;
    for (int k = 0; k < D; ++k) sizes.push_back(W), acts.push_back(A);
    sizes.push_back(Out), acts.push_back(Activation::none);
    const Net<T> net = make_net<T>(sizes, acts, seed);
    g_context = "ModelT " + describe(net);
    auto m = std::make_unique<M>();  // block buffers are members: not on the stack
    CHECK(load_ct(*m, net, std::make_index_sequence<D + 1>{}));
    check_calls<M, T>(*m, In, Out);
}

template <std::size_t I, typename M, typename T>
void load_one(M& m, const std::vector<RnnW<T>>& rnn, const Net<T>& head) {
    auto& layer = m.template layer<I>();
    if constexpr (vashrink::detail::IsStateful<std::decay_t<decltype(layer)>>::value) {
        const RnnW<T>& w = rnn[I];
        CHECK(layer.load(w.w_ih.data(), w.w_hh.data(), w.b_ih.data(), w.b_hh.data()));
    } else {
        const std::size_t d = I - rnn.size();
        CHECK(layer.load(head.w[d].data(), head.b[d].data(), head.s[d].data()));
    }
}

template <typename M, typename T, std::size_t... I>
void load_all(M& m, const std::vector<RnnW<T>>& rnn, const Net<T>& head, std::index_sequence<I...>) {
    (load_one<I>(m, rnn, head), ...);
}

/// A compile-time recurrent model: the layer types, the recurrent shapes, the head's sizes.
template <typename M, typename T>
void check_recurrent_t(const char* what, const std::vector<std::pair<Cell, int>>& shape,
                       const std::vector<int>& head_sizes, unsigned seed) {
    g_context = what;
    std::vector<RnnW<T>> rnn;
    int in = 1;
    for (const auto& [cell, hidden] : shape) rnn.push_back(rnn_weights<T>(cell, in, hidden, ++seed)), in = hidden;
    const Net<T> head = make_net<T>(head_sizes, std::vector<Activation>(head_sizes.size() - 1, Activation::tanh), ++seed);
    auto m = std::make_unique<M>();
    load_all(*m, rnn, head, std::make_index_sequence<M::n_layers>{});
    check_calls<M, T>(*m, 1, 1);
}

template <typename T>
void check_compile_time() {
    check_mlp_t<T, 1, 1, 1, 1, Activation::tanh>(21);
    check_mlp_t<T, 1, 2, 8, 1, Activation::tanh>(22);
    check_mlp_t<T, 1, 3, 17, 1, Activation::relu>(23);
    check_mlp_t<T, 2, 2, 9, 3, Activation::sigmoid>(24);
    check_mlp_t<T, 1, 2, 12, 1, Activation::elu>(25);
    check_mlp_t<T, 3, 1, 6, 4, Activation::softmax>(26);
    check_mlp_t<T, 1, 2, 16, 1, Activation::prelu>(27);
    check_mlp_t<T, 1, 6, 44, 1, Activation::tanh>(28);

    using vashrink::ModelT;
    using vashrink::SkipModelT;
    check_recurrent_t<ModelT<T, GruLayerT<T, 1, 8>, DenseT<T, 8, 1, Activation::tanh>>, T>(
        "ModelT GRU-8", {{Cell::gru, 8}}, {8, 1}, 31);
    check_recurrent_t<SkipModelT<T, LstmLayerT<T, 1, 12>, DenseT<T, 12, 1, Activation::tanh>>, T>(
        "SkipModelT LSTM-12", {{Cell::lstm, 12}}, {12, 1}, 32);
    check_recurrent_t<ModelT<T, GruLayerT<T, 1, 5>, LstmLayerT<T, 5, 13>, DenseT<T, 13, 4, Activation::tanh>,
                             DenseT<T, 4, 1, Activation::tanh>>, T>(
        "ModelT GRU-5 LSTM-13 dense 4", {{Cell::gru, 5}, {Cell::lstm, 13}}, {13, 4, 1}, 33);
    check_recurrent_t<SkipModelT<T, LstmLayerT<T, 1, 3>, GruLayerT<T, 3, 16>, LstmLayerT<T, 16, 2>,
                                 DenseT<T, 2, 1, Activation::tanh>>, T>(
        "SkipModelT LSTM-3 GRU-16 LSTM-2", {{Cell::lstm, 3}, {Cell::gru, 16}, {Cell::lstm, 2}}, {2, 1}, 34);
}

/// The hooks count what they should: without this the test could pass by counting nothing.
void check_controls() {
    g_context = "controls";
    CHECK(calls_in([] { delete new (std::nothrow) volatile int(1); }) == 2);
    CHECK(calls_in([] { void* volatile p = std::malloc(16); std::free(p); }) == 2);
    CHECK(calls_in([] { std::vector<float> v(100); g_sink = g_sink + v[3]; }) == 2);
    CHECK(calls_in([] { vashrink::AlignedVector<double> v(9); g_sink = g_sink + v[1]; }) == 2);
}

template <typename T>
void check_all() {
    check_runtime<T>();
    check_layers<T>();
    check_compile_time<T>();
}

}  // namespace

int main() {
    check_controls();
    check_all<float>();
    check_all<double>();
    if (g_failures != 0) {
        std::fprintf(stderr, "%d of %d checks failed\n", g_failures, g_checks);
        return 1;
    }
    std::printf("ok: %d checks, no allocator call in any forward/process/process_block/reset\n",
                g_checks);
    return 0;
}
