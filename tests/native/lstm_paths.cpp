// Prints the exact bits of float LSTM outputs (run-time LstmLayer and compile-time LstmLayerT, one
// and two inputs, hidden sizes around the 8- and 16-lane boundaries, one step per sample over a
// signal with large and small values), and whether vec.h's AVX-512 LSTM step is compiled in.
// test_native.py builds it for -march=x86-64-v3 and x86-64-v4 and requires the same bits: the
// AVX-512 step pairs the 8-lane layout's registers and must not change a result.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "vashrink/lstm.h"

namespace {

std::uint64_t g_hash = 1469598103934665603ull;  // FNV-1a over every output's bits

void absorb(float y) {
    std::uint32_t bits;
    std::memcpy(&bits, &y, sizeof bits);
    for (int b = 0; b < 4; ++b) g_hash = (g_hash ^ ((bits >> (8 * b)) & 0xffu)) * 1099511628211ull;
}

struct Weights {
    std::vector<float> ih, hh, bias;
};

Weights make(int in, int h, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.6f, 0.6f);
    Weights w{std::vector<float>(4u * h * in), std::vector<float>(4u * h * h), std::vector<float>(4u * h)};
    for (auto* v : {&w.ih, &w.hh, &w.bias})
        for (float& x : *v) x = u(rng);
    return w;
}

float input(int t, int i) {
    return 1.7f * std::sin(0.013f * t * (i + 1)) + (t % 97 == 0 ? 9.0f : 0.0f);
}

void run_runtime(int in, int h) {
    const Weights w = make(in, h, static_cast<unsigned>(in * 1000 + h));
    vashrink::LstmLayer<float> layer;
    const vashrink::RecurrentSpec<float> spec{vashrink::Cell::lstm, in, h, w.ih.data(), w.hh.data(),
                                              w.bias.data(), nullptr};
    if (!layer.load(spec).ok) {
        std::printf("load failed in=%d h=%d\n", in, h);
        std::exit(1);
    }
    float x[2];
    for (int t = 0; t < 600; ++t) {
        for (int i = 0; i < in; ++i) x[i] = input(t, i);
        const float* y = layer.forward(x);
        for (int u = 0; u < h; ++u) absorb(y[u]);
        absorb(layer.cell_state()[h - 1]);
    }
}

template <int In, int H>
void run_compiled() {
    const Weights w = make(In, H, static_cast<unsigned>(In * 1000 + H));
    static vashrink::LstmLayerT<float, In, H> layer;
    if (!layer.load(w.ih.data(), w.hh.data(), w.bias.data())) std::exit(1);
    float x[In];
    for (int t = 0; t < 600; ++t) {
        for (int i = 0; i < In; ++i) x[i] = input(t, i);
        const float* y = layer.forward(x);
        for (int u = 0; u < H; ++u) absorb(y[u]);
    }
}

}  // namespace

int main() {
    for (int in = 1; in <= 2; ++in)
        for (int h : {1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 48, 64}) run_runtime(in, h);
    run_compiled<1, 8>();
    run_compiled<1, 16>();
    run_compiled<1, 24>();
    run_compiled<1, 32>();
    run_compiled<2, 33>();
    std::printf("wide=%d hash=%016llx\n", VASHRINK_AVX512, static_cast<unsigned long long>(g_hash));
    return 0;
}
