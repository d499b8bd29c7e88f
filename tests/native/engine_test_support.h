#pragma once
// Shared pieces of engine_test.cpp (one translation unit includes this): the CHECK macros, random
// weights, a plain double reference model, compile-time model types, and the runs every model
// shape goes through.

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vashrink/vashrink.h"

namespace {

using vashrink::Activation;
using vashrink::DenseT;
using vashrink::LayerSpec;

int g_failures = 0;
int g_checks = 0;
std::string g_context;  // what is being tested, printed with each failure

void fail(const char* file, int line, const char* what, const std::string& detail) {
    if (++g_failures <= 40) {
        std::fprintf(stderr, "%s:%d: CHECK failed: %s [%s]%s%s\n", file, line, what, g_context.c_str(),
                     detail.empty() ? "" : " ", detail.c_str());
    }
}
#define CHECK(...) \
    (++g_checks, (__VA_ARGS__) ? void(0) : fail(__FILE__, __LINE__, #__VA_ARGS__, std::string()))
#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        const double a_ = (a), b_ = (b);                                                 \
        ++g_checks;                                                                      \
        if (!(std::fabs(a_ - b_) <= (tol)))                                              \
            fail(__FILE__, __LINE__, #a " ~ " #b,                                        \
                 std::to_string(a_) + " vs " + std::to_string(b_) + ", tol " + std::to_string(tol)); \
    } while (0)

template <typename T>
constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();
template <typename T>
constexpr T kInf = std::numeric_limits<T>::infinity();

/// Equal as bits of meaning: both NaN, or ==, and the same sign for zeros.
template <typename T>
bool same(T a, T b) {
    return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

constexpr Activation kAll[] = {Activation::none, Activation::tanh,    Activation::relu, Activation::sigmoid,
                               Activation::elu,  Activation::softmax, Activation::prelu};

// ---------------------------------------------------------------------------------------------
// Weights and a plain double reference.

template <typename T>
struct Net {
    std::vector<int> sizes;  // in, then each layer's out
    std::vector<Activation> acts;
    std::vector<std::vector<T>> w, b, s;
    std::vector<LayerSpec<T>> specs() const {
        std::vector<LayerSpec<T>> out;
        for (std::size_t k = 0; k < acts.size(); ++k)
            out.push_back({sizes[k], sizes[k + 1], acts[k], w[k].data(), b[k].data(), s[k].data()});
        return out;
    }
};

template <typename T>
Net<T> make_net(std::vector<int> sizes, std::vector<Activation> acts, unsigned seed) {
    Net<T> net{std::move(sizes), std::move(acts), {}, {}, {}};
    std::mt19937 rng(seed);
    for (std::size_t k = 0; k < net.acts.size(); ++k) {
        const int in = net.sizes[k], out = net.sizes[k + 1];
        std::uniform_real_distribution<double> u(-1.5 / std::sqrt(double(in)), 1.5 / std::sqrt(double(in)));
        std::uniform_real_distribution<double> slope(-0.2, 0.5);
        net.w.emplace_back(std::size_t(in) * out);
        net.b.emplace_back(out);
        net.s.emplace_back(out);
        for (T& v : net.w.back()) v = T(u(rng));
        for (T& v : net.b.back()) v = T(u(rng));
        for (T& v : net.s.back()) v = T(slope(rng));
    }
    return net;
}

template <typename T>
std::vector<double> reference(const Net<T>& net, const T* x) {
    std::vector<double> a(x, x + net.sizes[0]);
    for (std::size_t k = 0; k < net.acts.size(); ++k) {
        const int in = net.sizes[k], out = net.sizes[k + 1];
        std::vector<double> y(out);
        for (int o = 0; o < out; ++o) {
            double v = net.b[k][o];
            for (int i = 0; i < in; ++i) v += double(net.w[k][std::size_t(o) * in + i]) * a[i];
            switch (net.acts[k]) {
                case Activation::tanh: v = std::tanh(v); break;
                case Activation::relu: v = v > 0 ? v : 0; break;
                case Activation::sigmoid: v = 1 / (1 + std::exp(-v)); break;
                case Activation::elu: v = v > 0 ? v : std::expm1(v); break;
                case Activation::prelu: v = v > 0 ? v : double(net.s[k][o]) * v; break;
                default: break;
            }
            y[o] = v;
        }
        if (net.acts[k] == Activation::softmax) {
            double m = y[0], sum = 0;
            for (double v : y) m = v > m ? v : m;
            for (double& v : y) sum += (v = std::exp(v - m));
            for (double& v : y) v /= sum;
        }
        a = std::move(y);
    }
    return a;
}

// ---------------------------------------------------------------------------------------------
// Compile-time model types: In -> D hidden layers of W (activation A) -> Out (activation AO).

template <typename T, typename... Ls>
struct List {};
template <typename T, int W, int N, Activation A, int Out, Activation AO, typename Acc>
struct Hidden;
template <typename T, int W, Activation A, int Out, Activation AO, typename... Ls>
struct Hidden<T, W, 0, A, Out, AO, List<T, Ls...>> {
    using type = vashrink::ModelT<T, Ls..., DenseT<T, W, Out, AO>>;
};
template <typename T, int W, int N, Activation A, int Out, Activation AO, typename... Ls>
struct Hidden<T, W, N, A, Out, AO, List<T, Ls...>> {
    using type = typename Hidden<T, W, N - 1, A, Out, AO, List<T, Ls..., DenseT<T, W, W, A>>>::type;
};
template <typename T, int In, int D, int W, int Out, Activation A, Activation AO>
using MlpT = typename Hidden<T, W, D - 1, A, Out, AO, List<T, DenseT<T, In, W, A>>>::type;

template <typename M, typename T, std::size_t... I>
bool load_ct(M& m, const Net<T>& net, std::index_sequence<I...>) {
    return (m.template layer<I>().load(net.w[I].data(), net.b[I].data(), net.s[I].data()) && ...);
}

template <typename T>
constexpr double kModelTol = std::is_same_v<T, float> ? 2e-5 : 1e-12;  // vs the double reference
template <typename T>
constexpr double kBlockTol = std::is_same_v<T, float> ? 1e-6 : 1e-13;  // block vs per sample

/// Outputs of one model for the same inputs: per sample, block, and forward() of sample 1.
template <typename T>
struct Outputs {
    std::vector<T> per_sample, block, forward1;
};

template <typename M, typename T>
Outputs<T> run_all(M& m, const std::vector<T>& x, int in, int out) {
    const int n = static_cast<int>(x.size()) / in;
    Outputs<T> r{std::vector<T>(std::size_t(n) * out), std::vector<T>(std::size_t(n) * out), {}};
    m.process(x.data(), r.per_sample.data(), n);
    m.process_block(x.data(), r.block.data(), n);
    const T* y = m.forward(x.data() + in);
    r.forward1.assign(y, y + out);
    if (in == 1) r.forward1.push_back(m.forward(x[1]));  // forward(T): output 0
    return r;
}

template <typename T>
std::vector<T> inputs(int in, unsigned seed) {
    std::vector<T> x(std::size_t(150) * in);  // 150: no lane count divides it; > ModelT::chunk
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.5, 1.5);
    for (T& v : x) v = T(u(rng));
    return x;
}

/// One model's outputs against the double reference, and per sample against block mode.
template <typename T>
void check_outputs(const Net<T>& net, const std::vector<T>& x, const Outputs<T>& r) {
    const int in = net.sizes.front(), out = net.sizes.back(), n = static_cast<int>(x.size()) / in;
    double err = 0, blk = 0;
    for (int s = 0; s < n; ++s) {
        const std::vector<double> ref = reference(net, x.data() + std::size_t(s) * in);
        for (int o = 0; o < out; ++o) {
            const std::size_t i = std::size_t(s) * out + o;
            err = std::max(err, std::fabs(r.per_sample[i] - ref[o]));
            blk = std::max(blk, std::fabs(double(r.per_sample[i]) - r.block[i]) / std::max(1.0, std::fabs(ref[o])));
        }
    }
    CHECK_NEAR(err, 0, kModelTol<T>);
    CHECK_NEAR(blk, 0, kBlockTol<T>);
    for (int o = 0; o < out; ++o) CHECK(same(r.forward1[o], r.per_sample[out + o]));
    if (in == 1) CHECK(same(r.forward1[out], r.per_sample[out]));
}

template <typename T>
std::string describe(const Net<T>& net) {
    std::string d = sizeof(T) == 4 ? "float" : "double";
    for (std::size_t k = 0; k < net.sizes.size(); ++k) {
        d += (k ? " -> " : " ") + std::to_string(net.sizes[k]);
        if (k > 0) d += std::string(" ") + vashrink::activation_name(net.acts[k - 1]);
    }
    return d;
}

}  // namespace
