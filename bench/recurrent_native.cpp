// Native timing of GRU/LSTM models (N = 1 or 2 recurrent layers of H units -> Dense(H, 1),
// float32, one forward per sample): our run-time Model<float> and compile-time ModelT against
// RTNeural's compile-time ModelT with N GRULayerT / LSTMLayerT, once built with xsimd and once
// with Eigen, on the same weights, interleaved round by round in one process.
// bench/bench_recurrent.py builds and runs it; by hand (three objects: each RTNeural backend gets its own namespace):
//   CXX="g++ -O3 -march=native -std=c++17 -I$RTNEURAL_DIR -I$RTNEURAL_DIR/modules/json"
//   A = the register's alignment for these flags (64 with __AVX512F__, 32 with __AVX__, else 16:
//   g++ -march=native -dM -E -x c++ /dev/null | grep -E '__AVX512F__|__AVX__'); Eigen: at most 32
//   $CXX -Icpp/include -c bench/recurrent_native.cpp -o ours.o
//   $CXX -DRTNEURAL_DEFAULT_ALIGNMENT=$A -DVS_RTNEURAL_FACTORY=make_xsimd -DRTNEURAL_USE_XSIMD=1 -DRTNEURAL_NAMESPACE=RTNeuralXsimd -I$XSIMD_DIR/include -c bench/recurrent_native.cpp -o x.o
//   $CXX -DRTNEURAL_DEFAULT_ALIGNMENT=32 -DVS_RTNEURAL_FACTORY=make_eigen -DRTNEURAL_USE_EIGEN=1 -DRTNEURAL_NAMESPACE=RTNeuralEigen -I$RTNEURAL_DIR/modules/Eigen -c bench/recurrent_native.cpp -o e.o
//   g++ ours.o x.o e.o -o /tmp/recurrent_native && /tmp/recurrent_native 31 [sizes [mlp|stack]]
// Without RTNeural: compile only the first object with -DVS_NO_RTNEURAL. Output: one JSON
// object per line (cell, hidden, layers, runner, median/min thread-CPU ns per sample, median
// wall). "stack" times two-layer models of the given sizes (8 and 16 are built).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bench {

/// Torch-layout weights of one recurrent layer (gates * H rows; layer k > 0 takes H inputs).
struct RnnWeights {
    std::vector<float> w_ih, w_hh, b_ih, b_hh;
};

/// One model: `layers` recurrent layers of the same cell and H, then Dense(H, 1).
struct Weights {
    bool lstm = false;
    int hidden = 0;
    int layers = 1;
    std::vector<RnnWeights> rnn;
    std::vector<float> w_d, b_d;
};

/// One model, run per sample over a buffer.
struct Runner {
    virtual ~Runner() = default;
    virtual void reset() = 0;
    virtual void process(const float* x, float* y, int n) = 0;
};

std::unique_ptr<Runner> make_xsimd(const Weights& w);
std::unique_ptr<Runner> make_eigen(const Weights& w);

/// A tanh MLP 1 -> D hidden layers of W -> 1 (for the same-run MLP comparison): per layer
/// weight [out][in] and bias, torch layout.
struct MlpWeights {
    int depth = 0;
    int width = 0;
    std::vector<std::vector<float>> w, b;
};
std::unique_ptr<Runner> make_xsimd_mlp(const MlpWeights& w);
std::unique_ptr<Runner> make_eigen_mlp(const MlpWeights& w);

/// Type list helpers for building D-layer models.
template <typename... Ls>
struct List {};

// Internal linkage: this file is compiled into three objects (ours, RTNeural xsimd, RTNeural
// Eigen), and each RTNeural object's runners live in its own anonymous namespace, which every
// object mangles alike. As plain templates, pick<RtnRunner, ...> was emitted as the same weak
// symbol in both RTNeural objects and the linker kept one: the "Eigen" column could run xsimd.
namespace {

/// R<H, Lstm, N> for the model's shape: every H for one layer, H = 8 and 16 for two.
template <template <int, bool, int> class R, bool Lstm, int N>
std::unique_ptr<Runner> pick(const Weights& w) {
    switch (w.hidden) {
        case 8: return std::make_unique<R<8, Lstm, N>>(w);
        case 16: return std::make_unique<R<16, Lstm, N>>(w);
        default: break;
    }
    if constexpr (N == 1) {
        switch (w.hidden) {
            case 12: return std::make_unique<R<12, Lstm, N>>(w);
            case 24: return std::make_unique<R<24, Lstm, N>>(w);
            case 32: return std::make_unique<R<32, Lstm, N>>(w);
            case 40: return std::make_unique<R<40, Lstm, N>>(w);
            default: break;
        }
    }
    return nullptr;
}
template <template <int, bool, int> class R>
std::unique_ptr<Runner> pick_any(const Weights& w) {
    if (w.layers == 1) return w.lstm ? pick<R, true, 1>(w) : pick<R, false, 1>(w);
    if (w.layers == 2) return w.lstm ? pick<R, true, 2>(w) : pick<R, false, 2>(w);
    return nullptr;
}
/// R<D, W> for the timed MLP shapes.
template <template <int, int> class R>
std::unique_ptr<Runner> pick_mlp(const MlpWeights& m) {
    switch (m.depth * 100 + m.width) {
        case 208: return std::make_unique<R<2, 8>>(m);
        case 316: return std::make_unique<R<3, 16>>(m);
        case 644: return std::make_unique<R<6, 44>>(m);
        case 824: return std::make_unique<R<8, 24>>(m);
        case 464: return std::make_unique<R<4, 64>>(m);
        default: return nullptr;
    }
}

}  // namespace
}  // namespace bench

#define VS_CAT2(a, b) a##b
#define VS_CAT(a, b) VS_CAT2(a, b)
#if defined(VS_RTNEURAL_FACTORY)  // make_xsimd or make_eigen (and make_xsimd_mlp ...)
// ---- RTNeural side: compile-time ModelT, loaded with RTNeural's own torch helpers ----------
#include <RTNeural/RTNeural.h>

namespace bench {
namespace {

namespace R = RTNEURAL_NAMESPACE;

template <int H, bool Lstm, int N>
struct RtnRunner final : Runner {
    template <int In>
    using Rnn = std::conditional_t<Lstm, R::LSTMLayerT<float, In, H>, R::GRULayerT<float, In, H>>;
    std::conditional_t<N == 1, R::ModelT<float, 1, 1, Rnn<1>, R::DenseT<float, H, 1>>,
                       R::ModelT<float, 1, 1, Rnn<1>, Rnn<H>, R::DenseT<float, H, 1>>>
        model;

    explicit RtnRunner(const Weights& w) {
        const auto rows = [](const std::vector<float>& v, int n_rows) {
            const std::size_t cols = v.size() / n_rows;
            std::vector<std::vector<float>> out(n_rows);
            for (int r = 0; r < n_rows; ++r) out[r].assign(v.begin() + r * cols, v.begin() + (r + 1) * cols);
            return out;
        };
        const int g = Lstm ? 4 : 3;
        nlohmann::json j;
        for (int k = 0; k < N; ++k) {
            const std::string p = "rnn" + std::to_string(k) + ".";
            j[p + "weight_ih_l0"] = rows(w.rnn[k].w_ih, g * H);
            j[p + "weight_hh_l0"] = rows(w.rnn[k].w_hh, g * H);
            j[p + "bias_ih_l0"] = w.rnn[k].b_ih;
            j[p + "bias_hh_l0"] = w.rnn[k].b_hh;
        }
        j["dense.weight"] = rows(w.w_d, 1);
        j["dense.bias"] = w.b_d;
        load_rnn(j, std::make_index_sequence<N>{});
        R::torch_helpers::loadDense<float>(j, "dense.", model.template get<N>());
        model.reset();
    }
    template <std::size_t... K>
    void load_rnn(const nlohmann::json& j, std::index_sequence<K...>) {
        if constexpr (Lstm) {
            (R::torch_helpers::loadLSTM<float>(j, "rnn" + std::to_string(K) + ".", model.template get<K>()), ...);
        } else {
            (R::torch_helpers::loadGRU<float>(j, "rnn" + std::to_string(K) + ".", model.template get<K>()), ...);
        }
    }
    void reset() override { model.reset(); }
    void process(const float* x, float* y, int n) override {
        for (int i = 0; i < n; ++i) y[i] = model.forward(x + i);
    }
};

template <int W, int N, typename Acc>
struct RtnHidden;
template <int W, typename... Ls>
struct RtnHidden<W, 0, List<Ls...>> {
    using type = R::ModelT<float, 1, 1, Ls..., R::DenseT<float, W, 1>>;
};
template <int W, int N, typename... Ls>
struct RtnHidden<W, N, List<Ls...>> {
    using type = typename RtnHidden<W, N - 1, List<Ls..., R::DenseT<float, W, W>, R::TanhActivationT<float, W>>>::type;
};

template <int D, int W>
struct RtnMlp final : Runner {
    typename RtnHidden<W, D - 1, List<R::DenseT<float, 1, W>, R::TanhActivationT<float, W>>>::type model;
    explicit RtnMlp(const MlpWeights& m) {
        nlohmann::json j;
        for (int l = 0; l <= D; ++l) {
            const int out = static_cast<int>(m.b[l].size());
            const std::size_t in = m.w[l].size() / out;
            std::vector<std::vector<float>> rows(out);
            for (int r = 0; r < out; ++r) rows[r].assign(m.w[l].begin() + r * in, m.w[l].begin() + (r + 1) * in);
            j["l" + std::to_string(l) + ".weight"] = rows;
            j["l" + std::to_string(l) + ".bias"] = m.b[l];
        }
        load(j, std::make_index_sequence<D + 1>{});
        model.reset();
    }
    template <std::size_t... I>
    void load(const nlohmann::json& j, std::index_sequence<I...>) {
        (R::torch_helpers::loadDense<float>(j, "l" + std::to_string(I) + ".", model.template get<2 * I>()), ...);
    }
    void reset() override { model.reset(); }
    void process(const float* x, float* y, int n) override {
        for (int i = 0; i < n; ++i) y[i] = model.forward(x + i);
    }
};

}  // namespace

std::unique_ptr<Runner> VS_RTNEURAL_FACTORY(const Weights& w) { return pick_any<RtnRunner>(w); }
std::unique_ptr<Runner> VS_CAT(VS_RTNEURAL_FACTORY, _mlp)(const MlpWeights& w) { return pick_mlp<RtnMlp>(w); }

}  // namespace bench

#else
// ---- our side and main ----------------------------------------------------------------------
#include "vashrink/vashrink.h"

namespace bench {
#if defined(VS_NO_RTNEURAL) || defined(VS_MISSING_XSIMD)
std::unique_ptr<Runner> make_xsimd(const Weights&) { return nullptr; }
std::unique_ptr<Runner> make_xsimd_mlp(const MlpWeights&) { return nullptr; }
#endif
#if defined(VS_NO_RTNEURAL) || defined(VS_MISSING_EIGEN)
std::unique_ptr<Runner> make_eigen(const Weights&) { return nullptr; }
std::unique_ptr<Runner> make_eigen_mlp(const MlpWeights&) { return nullptr; }
#endif
namespace {

struct OursRt final : Runner {
    vashrink::Model<float> model;
    explicit OursRt(const Weights& w) {
        std::vector<vashrink::RecurrentSpec<float>> specs;
        for (int k = 0; k < w.layers; ++k) {
            const RnnWeights& r = w.rnn[k];
            specs.push_back({w.lstm ? vashrink::Cell::lstm : vashrink::Cell::gru, k == 0 ? 1 : w.hidden,
                             w.hidden, r.w_ih.data(), r.w_hh.data(), r.b_ih.data(), r.b_hh.data()});
        }
        const vashrink::LayerSpec<float> d{w.hidden, 1, vashrink::Activation::none, w.w_d.data(), w.b_d.data(), nullptr};
        if (!model.load(specs.data(), specs.size(), &d, 1).ok) std::abort();
    }
    void reset() override { model.reset(); }
    void process(const float* x, float* y, int n) override { model.process(x, y, n); }
};

template <int H, bool Lstm, int N>
struct OursCt final : Runner {
    template <int In>
    using Rnn = std::conditional_t<Lstm, vashrink::LstmLayerT<float, In, H>, vashrink::GruLayerT<float, In, H>>;
    std::conditional_t<N == 1, vashrink::ModelT<float, Rnn<1>, vashrink::DenseT<float, H, 1>>,
                       vashrink::ModelT<float, Rnn<1>, Rnn<H>, vashrink::DenseT<float, H, 1>>>
        model;
    explicit OursCt(const Weights& w) {
        if (!load(w, std::make_index_sequence<N>{}) || !model.template layer<N>().load(w.w_d.data(), w.b_d.data()))
            std::abort();
    }
    template <std::size_t... K>
    bool load(const Weights& w, std::index_sequence<K...>) {
        return (model.template layer<K>().load(w.rnn[K].w_ih.data(), w.rnn[K].w_hh.data(), w.rnn[K].b_ih.data(),
                                               w.rnn[K].b_hh.data()) &&
                ...);
    }
    void reset() override { model.reset(); }
    void process(const float* x, float* y, int n) override { model.process(x, y, n); }
};

double now(clockid_t clock) {
    timespec ts;
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// torch's default init, U(-1/sqrt(H), 1/sqrt(H)) for every array, seeded by the shape (one
/// layer: the same numbers as before stacks were timed).
Weights random_weights(bool lstm, int hidden, int layers) {
    Weights w;
    w.lstm = lstm;
    w.hidden = hidden;
    w.layers = layers;
    const std::size_t rows = static_cast<std::size_t>(lstm ? 4 : 3) * hidden;
    std::mt19937 rng(static_cast<unsigned>(hidden * 2 + (lstm ? 1 : 0) + 1000 * (layers - 1)));
    const float k = 1.0f / std::sqrt(static_cast<float>(hidden));
    std::uniform_real_distribution<float> u(-k, k);
    const auto fill = [&](std::vector<float>& v, std::size_t n) {
        v.resize(n);
        for (float& x : v) x = u(rng);
    };
    w.rnn.resize(static_cast<std::size_t>(layers));
    for (int l = 0; l < layers; ++l) {
        fill(w.rnn[l].w_ih, rows * (l == 0 ? 1 : hidden));
        fill(w.rnn[l].w_hh, rows * hidden);
        fill(w.rnn[l].b_ih, rows);
        fill(w.rnn[l].b_hh, rows);
    }
    fill(w.w_d, hidden);
    fill(w.b_d, 1);
    return w;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <int W, int N, typename Acc>
struct OursHidden;
template <int W, typename... Ls>
struct OursHidden<W, 0, List<Ls...>> {
    using type = vashrink::ModelT<float, Ls..., vashrink::DenseT<float, W, 1>>;
};
template <int W, int N, typename... Ls>
struct OursHidden<W, N, List<Ls...>> {
    using type = typename OursHidden<W, N - 1, List<Ls..., vashrink::DenseT<float, W, W, vashrink::Activation::tanh>>>::type;
};

template <int D, int W>
struct OursMlp final : Runner {
    typename OursHidden<W, D - 1, List<vashrink::DenseT<float, 1, W, vashrink::Activation::tanh>>>::type model;
    explicit OursMlp(const MlpWeights& m) {
        if (!load(m, std::make_index_sequence<D + 1>{})) std::abort();
    }
    template <std::size_t... I>
    bool load(const MlpWeights& m, std::index_sequence<I...>) {
        return (model.template layer<I>().load(m.w[I].data(), m.b[I].data()) && ...);
    }
    void reset() override {}
    void process(const float* x, float* y, int n) override { model.process(x, y, n); }
};

MlpWeights random_mlp(int depth, int width) {
    MlpWeights m;
    m.depth = depth;
    m.width = width;
    std::mt19937 rng(static_cast<unsigned>(depth * 1000 + width));
    int in = 1;
    for (int l = 0; l <= depth; ++l) {
        const int out = l == depth ? 1 : width;
        const float k = 1.0f / std::sqrt(static_cast<float>(in));
        std::uniform_real_distribution<float> u(-k, k);
        m.w.emplace_back(static_cast<std::size_t>(in) * out);
        m.b.emplace_back(out);
        for (float& v : m.w.back()) v = u(rng);
        for (float& v : m.b.back()) v = u(rng);
        in = out;
    }
    return m;
}

struct Named {
    const char* name;
    std::unique_ptr<Runner> runner;
    std::vector<double> cpu, wall;
    double max_diff = 0;
};

/// Check every runner computes what the first does, then time them interleaved and print.
void time_all(std::vector<Named>& runners, const char* model, int hidden, int layers, int rounds) {
    constexpr int n = 48000;
    std::vector<float> x(n), ref(n), y(n);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> ux(-1.0f, 1.0f);
    for (float& v : x) v = ux(rng);
    runners[0].runner->process(x.data(), ref.data(), n);
    for (auto& r : runners) {
        r.runner->reset();
        r.runner->process(x.data(), y.data(), n);
        for (int i = 0; i < n; ++i) r.max_diff = std::max(r.max_diff, double(std::fabs(y[i] - ref[i])));
    }
    for (int round = 0; round < rounds; ++round) {
        for (auto& r : runners) {
            r.runner->reset();
            const double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
            r.runner->process(x.data(), y.data(), n);
            r.cpu.push_back((now(CLOCK_THREAD_CPUTIME_ID) - c0) / n * 1e9);
            r.wall.push_back((now(CLOCK_MONOTONIC) - w0) / n * 1e9);
        }
    }
    for (const auto& r : runners) {
        std::printf("{\"cell\": \"%s\", \"hidden\": %d, \"layers\": %d, \"runner\": \"%s\", "
                    "\"cpu_ns_median\": %.2f, \"cpu_ns_min\": %.2f, \"wall_ns_median\": %.2f, "
                    "\"rounds\": %d, \"max_abs_diff_vs_first\": %.3g}\n",
                    model, hidden, layers, r.name, median(r.cpu), *std::min_element(r.cpu.begin(), r.cpu.end()),
                    median(r.wall), rounds, r.max_diff);
        std::fflush(stdout);
    }
}

void run(bool lstm, int hidden, int layers, int rounds) {
    const Weights w = random_weights(lstm, hidden, layers);
    auto ct = pick_any<OursCt>(w);
    if (!ct) {
        std::fprintf(stderr, "no compile-time build for %d x %d; skipped\n", layers, hidden);
        return;
    }
    std::vector<Named> runners;
    runners.push_back({"vashrink-runtime", std::make_unique<OursRt>(w), {}, {}});
    runners.push_back({"vashrink-compiled", std::move(ct), {}, {}});
    if (auto r = make_xsimd(w)) runners.push_back({"rtneural-xsimd", std::move(r), {}, {}});
    if (auto r = make_eigen(w)) runners.push_back({"rtneural-eigen", std::move(r), {}, {}});
    time_all(runners, lstm ? "lstm" : "gru", hidden, layers, rounds);
}

/// The tanh MLP shapes (depth x width, "hidden" = width) against RTNeural's compile-time ModelT.
void run_mlp(int depth, int width, int rounds) {
    const MlpWeights m = random_mlp(depth, width);
    std::vector<Named> runners;
    runners.push_back({"vashrink-compiled", pick_mlp<OursMlp>(m), {}, {}});
    if (auto r = make_xsimd_mlp(m)) runners.push_back({"rtneural-xsimd", std::move(r), {}, {}});
    if (auto r = make_eigen_mlp(m)) runners.push_back({"rtneural-eigen", std::move(r), {}, {}});
    const std::string name = "mlp" + std::to_string(depth) + "x";
    time_all(runners, name.c_str(), width, 0, rounds);
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 21;
    std::vector<int> sizes = {8, 12, 16, 24, 32, 40};
    if (argc > 2) {
        sizes.clear();
        for (const char* p = argv[2]; *p;) {
            sizes.push_back(std::atoi(p));
            while (*p && *p != ',') ++p;
            if (*p == ',') ++p;
        }
    }
    const std::string mode = argc > 3 ? argv[3] : "";
    if (mode == "mlp") {
        for (const auto& [d, w] : {std::pair{2, 8}, {3, 16}, {6, 44}, {8, 24}, {4, 64}}) bench::run_mlp(d, w, rounds);
        return 0;
    }
    const int layers = mode == "stack" ? 2 : 1;
    for (bool lstm : {false, true})
        for (int h : sizes) bench::run(lstm, h, layers, rounds);
    return 0;
}
#endif
