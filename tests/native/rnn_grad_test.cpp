// Native checks of the trainer headers (rnn_grad.h, adam.h), without Python:
//  - after init(), reset_state / set_state / forward / loss_and_grad / get_state / Adam::step
//    allocate nothing (the global operator new is replaced and counts calls);
//  - the float64 gradient equals central finite differences of the loss (relative 1e-5, step
//    1e-5; the exact check against torch autograd is tests/train/test_rnn_native.py);
//  - requests beyond the sizes given to init() are refused (false), never run.
// Prints "ok: ..." and exits 0, or prints what failed and exits 1.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "vashrink/adam.h"
#include "vashrink/rnn_grad.h"

namespace {
long g_allocations = 0;
bool g_counting = false;
int g_failures = 0;

void* counted(std::size_t n, std::size_t align) {
    if (g_counting) ++g_allocations;
    void* p = align ? std::aligned_alloc(align, (n + align - 1) / align * align) : std::malloc(n);
    if (!p) throw std::bad_alloc();
    return p;
}

void check(bool ok, const char* what, const char* where) {
    if (!ok) {
        std::printf("FAILED: %s (%s)\n", what, where);
        ++g_failures;
    }
}
}  // namespace

void* operator new(std::size_t n) { return counted(n, 0); }
void* operator new[](std::size_t n) { return counted(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

template <typename T>
void run_case(vashrink::Cell cell, int hidden, int layers, bool skip, int batch, const char* name) {
    constexpr int steps = 13, max_batch = 6, max_steps = 16;
    vashrink::RnnGrad<T> net;
    vashrink::Adam<T> adam;
    check(net.init(cell, hidden, layers, skip, max_batch, max_steps).ok, "init", name);
    check(adam.init(net.n_params()).ok, "adam init", name);
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-0.5, 0.5);
    for (std::size_t i = 0; i < net.n_params(); ++i) net.params()[i] = T(u(rng));
    std::vector<T> x(batch * 40), y(batch * 40), out(batch * 40), prev_y(batch), prev_hat(batch);
    for (auto& v : x) v = T(u(rng));
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = T(std::tanh(3.0 * double(x[i])));
    for (int b = 0; b < batch; ++b) prev_y[b] = prev_hat[b] = T(u(rng));
    std::vector<T> h(layers * batch * hidden), c(layers * batch * hidden);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = c[i] = T(u(rng));
    const T* c0 = cell == vashrink::Cell::lstm ? c.data() : nullptr;
    T* c_out = cell == vashrink::Cell::lstm ? c.data() : nullptr;
    vashrink::ChunkLoss loss;

    g_allocations = 0;
    g_counting = true;
    check(net.reset_state(batch), "reset_state", name);
    check(net.forward(x.data(), 40, 40, out.data(), 40), "forward (longer than max_steps)", name);
    check(net.set_state(batch, h.data(), c0), "set_state", name);
    check(net.loss_and_grad(x.data(), y.data(), 40, steps, prev_y.data(), prev_hat.data(), 0.85,
                            0.25, loss, out.data(), 40),
          "loss_and_grad", name);
    net.get_state(h.data(), c_out);
    adam.step(net.params(), net.grad(), 1e-3, 1.0);
    check(!net.loss_and_grad(x.data(), y.data(), 40, max_steps + 1, nullptr, nullptr, 0.85, 0.25,
                             loss),
          "a chunk longer than max_steps is refused", name);
    check(!net.reset_state(max_batch + 1), "a batch above max_batch is refused", name);
    g_counting = false;
    check(g_allocations == 0, "no allocation after init", name);

    if constexpr (sizeof(T) == 8) {
        // Finite differences of the loss from the same state, for a spread of parameters.
        const auto loss_at = [&]() {
            net.set_state(batch, h.data(), c0);
            vashrink::ChunkLoss l;
            net.loss_and_grad(x.data(), y.data(), 40, steps, prev_y.data(), prev_hat.data(),
                              0.85, 0.25, l);
            return l.loss;
        };
        loss_at();
        const std::vector<T> grad(net.grad(), net.grad() + net.n_params());
        double worst = 0.0;
        for (std::size_t p = 0; p < net.n_params(); p += 1 + net.n_params() / 40) {
            const T keep = net.params()[p];
            const T step = T(1e-5);
            net.params()[p] = keep + step;
            const double up = loss_at();
            net.params()[p] = keep - step;
            const double down = loss_at();
            net.params()[p] = keep;
            const double fd = (up - down) / (2 * double(step));
            worst = std::fmax(worst, std::fabs(fd - double(grad[p])) / (std::fabs(fd) + 1e-3));
        }
        if (worst > 1e-5) std::printf("worst finite-difference error %g\n", worst);
        check(worst <= 1e-5, "gradient equals finite differences", name);
    }
}

int main() {
    using vashrink::Cell;
    int cases = 0;
    for (Cell cell : {Cell::gru, Cell::lstm})
        for (int layers : {1, 2})
            for (int batch : {1, 5}) {
                const char* name = cell == Cell::gru ? "gru" : "lstm";
                run_case<float>(cell, 3, layers, batch == 5, batch, name);
                run_case<double>(cell, 5, layers, batch == 1, batch, name);
                cases += 2;
            }
    vashrink::RnnGrad<double> bad;
    check(!bad.init(Cell::gru, 0, 1, false, 4, 4).ok, "hidden 0 is refused", "init");
    check(!bad.init(Cell::lstm, 4, 1, false, 4, 4, 3).ok, "tile_regs 3 is refused", "init");
    if (g_failures) return 1;
    std::printf("ok: %d cases, no allocation after init, gradients equal finite differences\n",
                cases);
    return 0;
}
