// Native timing of the engine on the five reference shapes (tanh, float32): the run-time
// Model<float> and the compile-time ModelT, per sample and per block, with no Python around.
// Reports the median over repeats of wall time and of this thread's CPU time (the latter is
// what a busy shared machine distorts least). Build and run (see docs/engine.md):
//   g++ -O3 -march=native -std=c++17 -Icpp/include bench/engine_native.cpp -o /tmp/engine_native
//   /tmp/engine_native [repeats] [shapes, e.g. 2x8,3x16 (default: all five)]
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "vashrink/vashrink.h"

namespace {

using vashrink::Activation;
using vashrink::DenseT;

template <typename... Ls>
struct List {};
template <int W, int N, typename Acc>
struct Hidden;
template <int W, typename... Ls>
struct Hidden<W, 0, List<Ls...>> {
    using type = vashrink::ModelT<float, Ls..., DenseT<float, W, 1>>;
};
template <int W, int N, typename... Ls>
struct Hidden<W, N, List<Ls...>> {
    using type =
        typename Hidden<W, N - 1, List<Ls..., DenseT<float, W, W, Activation::tanh>>>::type;
};
/// 1 -> D hidden tanh layers of W -> 1, as a compile-time model.
template <int D, int W>
using TanhMlp = typename Hidden<W, D - 1, List<DenseT<float, 1, W, Activation::tanh>>>::type;

double now(clockid_t clock) {
    timespec ts;
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Stat {
    double wall_ns;  // median
    double cpu_ns;   // median
    double cpu_min_ns;
};

template <typename F>
Stat time_ns_per_sample(F&& run, int n_samples, int repeats) {
    run();
    std::vector<double> wall, cpu;
    for (int r = 0; r < repeats; ++r) {
        const double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
        run();
        cpu.push_back((now(CLOCK_THREAD_CPUTIME_ID) - c0) / n_samples * 1e9);
        wall.push_back((now(CLOCK_MONOTONIC) - w0) / n_samples * 1e9);
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    return {wall[repeats / 2], cpu[repeats / 2], cpu[0]};
}

template <int D, int W, std::size_t... I>
bool load_ct(TanhMlp<D, W>& m, const std::vector<std::vector<float>>& w,
             const std::vector<std::vector<float>>& b, std::index_sequence<I...>) {
    return (m.template layer<I>().load(w[I].data(), b[I].data()) && ...);
}

template <int D, int W>
void run_shape(int repeats, const char* only) {
    char name[16];
    std::snprintf(name, sizeof name, "%dx%d", D, W);
    if (only != nullptr && std::strstr(only, name) == nullptr) return;
    std::mt19937 rng(D * 1000 + W);
    std::vector<std::vector<float>> w, b;
    std::vector<vashrink::LayerSpec<float>> specs;
    int in = 1;
    for (int l = 0; l <= D; ++l) {
        const int out = l == D ? 1 : W;
        std::uniform_real_distribution<float> u(-1.0f / std::sqrt(float(in)), 1.0f / std::sqrt(float(in)));
        w.emplace_back(static_cast<std::size_t>(in) * out);
        b.emplace_back(out);
        for (float& v : w.back()) v = u(rng);
        for (float& v : b.back()) v = u(rng);
        in = out;
    }
    in = 1;
    for (int l = 0; l <= D; ++l) {
        const int out = l == D ? 1 : W;
        specs.push_back({in, out, l == D ? Activation::none : Activation::tanh, w[l].data(), b[l].data(), nullptr});
        in = out;
    }
    vashrink::Model<float> rt;
    if (!rt.load(specs.data(), specs.size()).ok) std::abort();
    auto ct = std::make_unique<TanhMlp<D, W>>();
    if (!load_ct<D, W>(*ct, w, b, std::make_index_sequence<D + 1>{})) std::abort();

    constexpr int n = 48000, block = 512;
    std::vector<float> x(n), y1(n), y2(n), y3(n);
    std::uniform_real_distribution<float> ux(-1.0f, 1.0f);
    for (float& v : x) v = ux(rng);
    const auto blocks = [&](auto& model, float* y) {
        for (int off = 0; off < n; off += block) model.process_block(x.data() + off, y + off, std::min(block, n - off));
    };
    const Stat rt_s = time_ns_per_sample([&] { rt.process(x.data(), y1.data(), n); }, n, repeats);
    const Stat ct_s = time_ns_per_sample([&] { ct->process(x.data(), y2.data(), n); }, n, repeats);
    const Stat rt_b = time_ns_per_sample([&] { blocks(rt, y3.data()); }, n, repeats);
    const Stat ct_b = time_ns_per_sample([&] { blocks(*ct, y3.data()); }, n, repeats);
    double diff = 0;
    for (int i = 0; i < n; ++i) diff = std::max(diff, double(std::fabs(y1[i] - y2[i])));
    const auto cell = [](const Stat& s) {
        static char buf[4][64];
        static int k = 0;
        k = (k + 1) % 4;
        std::snprintf(buf[k], sizeof buf[k], "%.1f / %.1f / %.1f", s.cpu_ns, s.cpu_min_ns, s.wall_ns);
        return buf[k];
    };
    std::printf("| %dx%d | %s | %s | %s | %s | %.1e |\n", D, W, cell(rt_s), cell(ct_s), cell(rt_b),
                cell(ct_b), diff);
}

}  // namespace

int main(int argc, char** argv) {
    const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 31;
    std::printf("ns/sample over %d passes of 48,000 samples: median CPU / min CPU / median wall\n\n",
                repeats);
    std::printf("| shape | run-time per sample | compile-time per sample | run-time block 512 | "
                "compile-time block 512 | max |RT - CT| |\n|---|---|---|---|---|---|\n");
    const char* only = argc > 2 ? argv[2] : nullptr;
    run_shape<6, 44>(repeats, only);
    run_shape<3, 16>(repeats, only);
    run_shape<2, 8>(repeats, only);
    run_shape<8, 24>(repeats, only);
    run_shape<4, 64>(repeats, only);
    return 0;
}
