// Native tests of the engine headers, no framework: each CHECK prints file:line on failure and
// the program exits 1 if any failed. tests/native/test_native.py builds it with sanitizers for
// the portable path (-march=x86-64) and the AVX2 path (-march=x86-64-v3); by hand:
//   g++ -std=c++17 -O1 -g -fsanitize=address,undefined -Wall -Wextra -Icpp/include
//       tests/native/engine_test.cpp -o /tmp/engine_test && /tmp/engine_test
//
// Plain `inline` instead of the engine's always_inline: force-inlining every kernel into every
// caller made the sanitizer build take over 15 minutes. The arithmetic is the same either way.
#ifndef VASHRINK_INLINE
#  define VASHRINK_INLINE inline
#endif

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine_test_support.h"
#include "vashrink/vashrink.h"

namespace {

/// The run-time model on a grid of shapes: In -> depth x width (a) -> Out (a or none).
template <typename T>
void check_runtime_grid() {
    unsigned seed = 100;
    for (Activation a : kAll) {
        for (int depth = 1; depth <= 4; ++depth) {
            for (int width : {1, 3, 9, 17, 44}) {
                const int in = 1 + (depth + width) % 3, out = 1 + (depth * width) % 3;
                std::vector<int> sizes{in};
                std::vector<Activation> acts;
                for (int d = 0; d < depth; ++d) sizes.push_back(width), acts.push_back(a);
                sizes.push_back(out), acts.push_back(width % 2 ? a : Activation::none);
                const Net<T> net = make_net<T>(sizes, acts, ++seed);
                g_context = describe(net);
                const auto specs = net.specs();
                vashrink::Model<T> rt;
                CHECK(rt.load(specs.data(), specs.size()).ok);
                CHECK(rt.in_size() == in && rt.out_size() == out && rt.n_layers() == depth + 1);
                const std::vector<T> x = inputs<T>(in, seed);
                check_outputs(net, x, run_all(rt, x, in, out));
            }
        }
    }
}

/// The compile-time model against the run-time model on the same weights: bit-identical (the
/// same kernels on the same packed weights), per sample and block.
template <typename T, int In, int D, int W, int Out, Activation A, Activation AO>
void check_compile_time(unsigned seed) {
    std::vector<int> sizes{In};
    std::vector<Activation> acts;
    for (int d = 0; d < D; ++d) sizes.push_back(W), acts.push_back(A);
    sizes.push_back(Out), acts.push_back(AO);
    const Net<T> net = make_net<T>(sizes, acts, seed);
    g_context = "compile-time " + describe(net);
    using CT = MlpT<T, In, D, W, Out, A, AO>;
    static_assert(CT::in_size == In && CT::out_size == Out && CT::n_layers == D + 1);
    auto ct = std::make_unique<CT>();
    CHECK(load_ct(*ct, net, std::make_index_sequence<D + 1>{}));
    const auto specs = net.specs();
    vashrink::Model<T> rt;
    CHECK(rt.load(specs.data(), specs.size()).ok);
    const std::vector<T> x = inputs<T>(In, seed);
    Outputs<T> c;
    if constexpr (In == 1) {
        c = run_all(*ct, x, In, Out);
    } else {  // ModelT::forward(T) only exists for one input
        c = run_all(rt, x, In, Out);
        ct->process(x.data(), c.per_sample.data(), 150);
        ct->process_block(x.data(), c.block.data(), 150);
        const T* y = ct->forward(x.data() + In);
        c.forward1.assign(y, y + Out);
    }
    const Outputs<T> r = run_all(rt, x, In, Out);
    bool identical = r.forward1.size() == c.forward1.size();
    for (std::size_t i = 0; i < r.per_sample.size(); ++i)
        identical = identical && same(r.per_sample[i], c.per_sample[i]) && same(r.block[i], c.block[i]);
    for (std::size_t i = 0; identical && i < r.forward1.size(); ++i) identical = same(r.forward1[i], c.forward1[i]);
    CHECK(identical);
    check_outputs(net, x, c);
}

/// One compile-time shape per activation (each instantiation costs ~1 s under the sanitizers;
/// the run-time grid above covers every activation on every shape): together widths 1, 3, 9,
/// 17, 44 (odd, not multiples of the lanes; 44: four-register tiles and the unrolled dot product
/// with a masked tail), depths 1-4, one and several inputs and outputs, each activation in the
/// hidden layers and in the output layer.
template <typename T>
void check_compile_time_shapes() {
    constexpr Activation N = Activation::none;
    check_compile_time<T, 1, 1, 1, 1, N, N>(1);
    check_compile_time<T, 1, 2, 3, 1, Activation::tanh, Activation::tanh>(2);
    check_compile_time<T, 2, 3, 9, 1, Activation::relu, Activation::relu>(3);
    check_compile_time<T, 3, 4, 17, 2, Activation::sigmoid, Activation::sigmoid>(4);
    check_compile_time<T, 1, 2, 44, 1, Activation::elu, Activation::elu>(5);
    check_compile_time<T, 2, 1, 9, 3, Activation::softmax, Activation::softmax>(6);
    check_compile_time<T, 1, 4, 17, 1, Activation::prelu, Activation::prelu>(7);
    check_compile_time<T, 3, 2, 3, 5, Activation::tanh, N>(8);
}

// ---------------------------------------------------------------------------------------------
// Non-finite inputs (vmath.h states the semantics).

template <typename T, Activation A>
T act1(T x, T slope) {
    using V = vashrink::simd::Ops<T>;
    alignas(64) T buf[V::lanes];
    for (T& v : buf) v = T(0.5);  // the neighbours stay finite: lanes are independent
    buf[V::lanes - 1] = x;
    V::store(buf, vashrink::activate<T, A>(V::load(buf), V::set1(slope)));
    CHECK(std::isfinite(buf[0]));
    return buf[V::lanes - 1];
}

template <typename T>
T exp1(T x) {
    using V = vashrink::simd::Ops<T>;
    return V::hsum(vashrink::simd::Ops<T>::keep_first(vashrink::vmath::exp<T>(V::set1(x)), 1));
}

template <typename T>
void check_nonfinite_activations() {
    g_context = sizeof(T) == 4 ? "float activations" : "double activations";
    const T nan = kNaN<T>, inf = kInf<T>;
    for (T x : {nan, -nan}) {
        CHECK(std::isnan(act1<T, Activation::tanh>(x, 0)));
        CHECK(std::isnan(act1<T, Activation::sigmoid>(x, 0)));
        CHECK(std::isnan(act1<T, Activation::elu>(x, 0)));
        CHECK(std::isnan(act1<T, Activation::relu>(x, 0)));
        CHECK(std::isnan(act1<T, Activation::prelu>(x, T(0.25))));
        CHECK(std::isnan(act1<T, Activation::none>(x, 0)));
        CHECK(std::isnan(exp1<T>(x)));
    }
    CHECK(act1<T, Activation::tanh>(inf, 0) == 1 && act1<T, Activation::tanh>(-inf, 0) == -1);
    CHECK(act1<T, Activation::tanh>(T(1e30), 0) == 1 && act1<T, Activation::tanh>(T(-1e30), 0) == -1);
    CHECK(act1<T, Activation::sigmoid>(inf, 0) == 1 && act1<T, Activation::sigmoid>(-inf, 0) == 0);
    CHECK(act1<T, Activation::sigmoid>(T(1e30), 0) == 1 && act1<T, Activation::sigmoid>(T(-1e30), 0) == 0);
    CHECK(act1<T, Activation::elu>(inf, 0) == inf && act1<T, Activation::elu>(-inf, 0) == -1);
    CHECK(act1<T, Activation::relu>(inf, 0) == inf && act1<T, Activation::relu>(-inf, 0) == 0);
    CHECK(act1<T, Activation::prelu>(inf, T(0.25)) == inf);
    CHECK(act1<T, Activation::prelu>(-inf, T(0.25)) == -inf);
    CHECK(act1<T, Activation::prelu>(-inf, T(-0.5)) == inf);
    CHECK(std::isnan(act1<T, Activation::prelu>(-inf, T(0))));  // 0 * -inf, as documented
    CHECK(exp1<T>(-inf) == 0 && exp1<T>(inf) == inf && exp1<T>(0) == 1);
    CHECK(act1<T, Activation::tanh>(T(0), 0) == 0 && act1<T, Activation::relu>(T(-3), 0) == 0);

    // Accuracy on a dense grid (tests/test_engine.py states the same bounds).
    const double budget = std::is_same_v<T, float> ? 2.4e-7 : 1e-15;
    double e_tanh = 0, e_sig = 0, e_elu = 0;
    for (int i = -200000; i <= 200000; ++i) {
        const T x = T(i * 1e-4);
        const long double xl = x;
        e_tanh = std::max(e_tanh, double(std::fabs(act1<T, Activation::tanh>(x, 0) - std::tanh(xl))));
        e_sig = std::max(e_sig, double(std::fabs(act1<T, Activation::sigmoid>(x, 0) - 1 / (1 + std::exp(-xl)))));
        e_elu = std::max(e_elu, double(std::fabs(act1<T, Activation::elu>(x, 0) - (xl > 0 ? xl : std::expm1(xl)))));
    }
    CHECK_NEAR(e_tanh, 0, budget);
    CHECK_NEAR(e_sig, 0, budget);
    CHECK_NEAR(e_elu, 0, budget);
    std::printf("%s max abs error on [-20, 20]: tanh %.2g, sigmoid %.2g, elu %.2g\n",
                sizeof(T) == 4 ? "float" : "double", e_tanh, e_sig, e_elu);
}

/// out[] of every mode for one input sample repeated `n` times.
template <typename T>
void run_modes(vashrink::Model<T>& m, const std::vector<T>& x1, std::vector<T>& per_sample, std::vector<T>& block) {
    const int n = 11;
    std::vector<T> x;
    for (int s = 0; s < n; ++s) x.insert(x.end(), x1.begin(), x1.end());
    per_sample.assign(std::size_t(n) * m.out_size(), T(7));
    block.assign(per_sample.size(), T(7));
    m.process(x.data(), per_sample.data(), n);
    m.process_block(x.data(), block.data(), n);
}

template <typename T>
void check_nonfinite_models() {
    const T nan = kNaN<T>, inf = kInf<T>;
    for (Activation a : kAll) {
        for (const std::vector<int>& sizes : {std::vector<int>{1, 5, 9, 1}, std::vector<int>{2, 9, 3}}) {
            g_context = std::string(sizeof(T) == 4 ? "float" : "double") + " non-finite model, " +
                        vashrink::activation_name(a) + ", " + std::to_string(sizes.size() - 1) + " layers";
            std::vector<Activation> acts(sizes.size() - 1, a);
            acts.back() = sizes.back() == 1 ? Activation::none : a;
            const Net<T> net = make_net<T>(sizes, acts, 11);
            const auto specs = net.specs();
            vashrink::Model<T> m;
            CHECK(m.load(specs.data(), specs.size()).ok);
            std::vector<T> ys, yb;
            std::vector<T> x(sizes[0], T(0.3));
            x[0] = nan;  // NaN in -> NaN out, every output, both modes
            run_modes(m, x, ys, yb);
            for (std::size_t i = 0; i < ys.size(); ++i) CHECK(std::isnan(ys[i]) && std::isnan(yb[i]));
            for (T v : {inf, -inf}) {  // IEEE per layer; the two modes agree
                x[0] = v;
                run_modes(m, x, ys, yb);
                for (std::size_t i = 0; i < ys.size(); ++i) {
                    CHECK(std::isnan(ys[i]) == std::isnan(yb[i]));
                    if (std::isfinite(ys[i])) {
                        CHECK_NEAR(ys[i], yb[i], kBlockTol<T> * std::max(1.0, std::fabs(double(ys[i]))));
                    } else if (!std::isnan(ys[i])) {
                        CHECK(ys[i] == yb[i]);  // the same infinity
                    }
                }
            }
        }
    }
    // A padded unit of the hidden layer sees inf * 0 = NaN; the next layer must ignore it.
    g_context = sizeof(T) == 4 ? "float inf through padding" : "double inf through padding";
    Net<T> net = make_net<T>({1, 5, 1}, {Activation::tanh, Activation::none}, 12);
    for (T& w : net.w[0]) w = std::fabs(w) + T(0.1);
    const auto specs = net.specs();
    vashrink::Model<T> m;
    CHECK(m.load(specs.data(), specs.size()).ok);
    auto ct = std::make_unique<MlpT<T, 1, 1, 5, 1, Activation::tanh, Activation::none>>();
    CHECK(load_ct(*ct, net, std::make_index_sequence<2>{}));
    for (T v : {inf, -inf}) {
        double expect = net.b[1][0];
        for (int i = 0; i < 5; ++i) expect += net.w[1][i] * (v > 0 ? 1.0 : -1.0);
        std::vector<T> ys, yb;
        run_modes(m, {v}, ys, yb);
        CHECK_NEAR(m.forward(v), expect, kModelTol<T>);
        CHECK_NEAR(ct->forward(v), expect, kModelTol<T>);
        CHECK_NEAR(ys[3], expect, kModelTol<T>);
        CHECK_NEAR(yb[3], expect, kModelTol<T>);
    }
}

// ---------------------------------------------------------------------------------------------
// Load failures leave the model empty, and an empty model is safe to call.

template <typename T>
void check_empty(vashrink::Model<T>& m) {
    CHECK(!m.loaded() && m.in_size() == 0 && m.out_size() == 0 && m.n_layers() == 0 && m.chunk() == 0);
    const T x[4] = {1, 2, 3, 4};
    const T* y = m.forward(x);
    CHECK(y != nullptr);
    for (int i = 0; i < vashrink::Model<T>::lanes; ++i) CHECK(y[i] == 0);
    CHECK(m.forward(T(0.5)) == 0);
    T out[4] = {9, 9, 9, 9};
    m.process(x, out, 4);
    m.process_block(x, out, 4);
    for (T v : out) CHECK(v == 9);
    m.reset();
}

template <typename T>
void check_load_failures() {
    g_context = sizeof(T) == 4 ? "float load failures" : "double load failures";
    const Net<T> good = make_net<T>({2, 9, 3}, {Activation::tanh, Activation::prelu}, 21);
    vashrink::Model<T> m;
    check_empty(m);  // default-constructed
    CHECK(!m.load(nullptr, 3).ok);
    check_empty(m);
    const std::vector<T> nan_w(18, kNaN<T>), inf_b(9, kInf<T>);
    using Edit = void (*)(std::vector<LayerSpec<T>>&, const std::vector<T>&, const std::vector<T>&);
    const Edit edits[] = {
        [](auto& s, auto&, auto&) { s[0].in_size = 0; },
        [](auto& s, auto&, auto&) { s[1].out_size = 0; },
        [](auto& s, auto&, auto&) { s[0].out_size = -3; },
        [](auto& s, auto&, auto&) { s[1].in_size = 8; },  // does not chain
        [](auto& s, auto&, auto&) { s[0].in_size = vashrink::Model<T>::max_units + 1; },
        [](auto& s, auto&, auto&) { s[1].activation = static_cast<Activation>(42); },
        [](auto& s, auto&, auto&) { s[0].activation = static_cast<Activation>(-1); },
        [](auto& s, auto&, auto&) { s[0].weight = nullptr; },
        [](auto& s, auto&, auto&) { s[1].bias = nullptr; },
        [](auto& s, auto&, auto&) { s[1].prelu_slopes = nullptr; },
        [](auto& s, auto& w, auto&) { s[0].weight = w.data(); },
        [](auto& s, auto&, auto& b) { s[0].bias = b.data(); },
        [](auto& s, auto& w, auto&) { s[1].prelu_slopes = w.data(); },
    };
    for (const Edit& edit : edits) {
        std::vector<LayerSpec<T>> specs = good.specs();
        CHECK(m.load(specs.data(), specs.size()).ok);  // loaded, then a failed reload
        CHECK(m.loaded() && m.in_size() == 2 && m.out_size() == 3);
        edit(specs, nan_w, inf_b);
        const vashrink::Status st = m.load(specs.data(), specs.size());
        CHECK(!st.ok && !st.message.empty());
        check_empty(m);
    }
    const auto specs = good.specs();
    CHECK(!m.load(specs.data(), 0).ok);
    check_empty(m);
    CHECK(m.load(specs.data(), specs.size()).ok);  // usable again
    const T x[2] = {T(0.1), T(-0.2)};
    const std::vector<double> ref = reference(good, x);
    for (int o = 0; o < 3; ++o) CHECK_NEAR(m.forward(x)[o], ref[o], kModelTol<T>);

    Activation a = Activation::tanh;
    CHECK(!vashrink::activation_from_name("gelu", a) && a == Activation::tanh);
    CHECK(!vashrink::activation_from_name("Tanh", a) && !vashrink::activation_from_name(nullptr, a));
    CHECK(vashrink::activation_from_name("prelu", a) && a == Activation::prelu);
    CHECK(std::strcmp(vashrink::activation_name(static_cast<Activation>(99)), "invalid") == 0);

    DenseT<T, 3, 2, Activation::sigmoid> d;  // compile-time layer: false and zeroed
    const T w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {1, 1};
    T bad_b[2] = {1, kNaN<T>};
    alignas(64) T xin[8] = {1, 1, 1, 0, 0, 0, 0, 0}, y[8] = {};
    CHECK(d.load(w, b));
    CHECK(!d.load(w, bad_b));
    d.forward(xin, y);
    CHECK(y[0] == T(0.5) && y[1] == T(0.5));  // sigmoid(0): the layer is zero
    CHECK(!d.load(nullptr, b) && !d.load(w, nullptr));
    DenseT<T, 2, 2, Activation::prelu> p;
    CHECK(!p.load(w, b, nullptr) && p.load(w, b, b));
}

void check_lanes() {
    g_context = "lanes";
    constexpr auto t = vashrink::compiled_target();
    CHECK(t.float32_lanes == vashrink::simd::lanes_v<float> && t.float64_lanes == vashrink::simd::lanes_v<double>);
    CHECK(vashrink::Model<float>::lanes == t.float32_lanes && vashrink::Model<double>::lanes == t.float64_lanes);
    CHECK(t.register_bits == 32 * t.float32_lanes && t.register_bits == 64 * t.float64_lanes);
#if defined(__AVX2__) && defined(__FMA__)
    CHECK(t.float32_lanes == 8 && std::strcmp(t.isa, "AVX2") == 0 && t.fma);
    CHECK(std::strcmp(t.kernels, "avx2-fma") == 0);
#else
    CHECK(t.float32_lanes == 4 && std::strcmp(t.kernels, "portable") == 0);
#endif
}

}  // namespace

#include "recurrent_test.h"
#include "recurrent_stack_test.h"

int main() {
    check_lanes();
    for (Activation a : kAll) CHECK(vashrink::is_valid(a));
    check_runtime_grid<float>();
    check_runtime_grid<double>();
    check_compile_time_shapes<float>();
    check_compile_time_shapes<double>();
    check_nonfinite_activations<float>();
    check_nonfinite_activations<double>();
    check_nonfinite_models<float>();
    check_nonfinite_models<double>();
    check_load_failures<float>();
    check_load_failures<double>();
    check_recurrent<float>();
    check_recurrent<double>();
    check_recurrent_load_failures<float>();
    check_recurrent_load_failures<double>();
    check_stacks<float>();
    check_stacks<double>();
    check_stack_load_failures<float>();
    check_stack_load_failures<double>();
    const auto t = vashrink::compiled_target();
    std::printf("%s: %d checks, %d failed (%s, %s kernels, %d float lanes)\n", g_failures ? "FAIL" : "ok",
                g_checks, g_failures, t.isa, t.kernels, t.float32_lanes);
    return g_failures ? 1 : 0;
}
