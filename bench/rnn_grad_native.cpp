// Microseconds per time step of the native trainer's kernels (rnn_grad.h), without Python:
// loss_and_grad over one chunk (forward with stored activations, loss, BPTT) and forward only,
// on random weights and inputs; the minimum over `repeats` calls (short calls, so a loaded
// machine's preemptions fall outside the minimum).
//
//   g++ -std=c++17 -O3 -march=native -Icpp/include bench/rnn_grad_native.cpp -o /tmp/rnn_grad_native
//   /tmp/rnn_grad_native CELL HIDDEN LAYERS BATCH [STEPS=100] [SEGMENT_STEPS=0] [DOUBLE=0]
//
// e.g. `lstm 32 1 32 100 0` vs `lstm 32 1 32 100 21`: whole chunks stored vs recomputed in
// segments of 21 steps (the A/B behind rnn_grad.h's segment_bytes).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "vashrink/rnn_grad.h"

template <typename T>
int run(vashrink::Cell cell, int hidden, int layers, int batch, int steps, int segment) {
    vashrink::RnnGrad<T> net;
    const auto st = net.init(cell, hidden, layers, false, batch, steps, 0, segment);
    if (!st.ok) {
        std::printf("%s\n", st.message.c_str());
        return 1;
    }
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> u(-0.3, 0.3);
    for (std::size_t i = 0; i < net.n_params(); ++i) net.params()[i] = T(u(rng));
    std::vector<T> x(static_cast<std::size_t>(batch) * steps), y(x.size()), y_hat(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = T(u(rng));
        y[i] = T(std::tanh(2.0 * double(x[i])));
    }
    net.reset_state(batch);
    vashrink::ChunkLoss loss;
    double grad_s = 1e30, forward_s = 1e30;
    for (int r = 0; r < 30; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        net.loss_and_grad(x.data(), y.data(), steps, steps, nullptr, nullptr, 0.85, 0.25, loss);
        const auto t1 = std::chrono::steady_clock::now();
        net.forward(x.data(), steps, steps, y_hat.data(), steps);
        const auto t2 = std::chrono::steady_clock::now();
        grad_s = std::min(grad_s, std::chrono::duration<double>(t1 - t0).count());
        forward_s = std::min(forward_s, std::chrono::duration<double>(t2 - t1).count());
    }
    std::printf("%s-%dx%d %s batch %d, %d steps, segments of %d: loss_and_grad %.2f us/step, "
                "forward %.2f us/step\n",
                vashrink::cell_name(cell), layers, hidden, sizeof(T) == 4 ? "float32" : "float64",
                batch, steps, net.segment_steps(), grad_s / steps * 1e6, forward_s / steps * 1e6);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 5) {
        std::printf("usage: %s gru|lstm HIDDEN LAYERS BATCH [STEPS] [SEGMENT_STEPS] [DOUBLE]\n",
                    argv[0]);
        return 2;
    }
    const auto cell = std::string(argv[1]) == "lstm" ? vashrink::Cell::lstm : vashrink::Cell::gru;
    const int hidden = std::atoi(argv[2]), layers = std::atoi(argv[3]), batch = std::atoi(argv[4]);
    const int steps = argc > 5 ? std::atoi(argv[5]) : 100;
    const int segment = argc > 6 ? std::atoi(argv[6]) : 0;
    if (argc > 7 && std::atoi(argv[7])) return run<double>(cell, hidden, layers, batch, steps, segment);
    return run<float>(cell, hidden, layers, batch, steps, segment);
}
