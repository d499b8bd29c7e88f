#pragma once
// The recurrent trainer's loss over one chunk and its gradient with respect to the
// predictions (for rnn_grad.h), as python/vashrink/train/rnn_loss.py::column_losses defines it:
//   p[t] = y[t] - c y[t-1] (y[-1]: the sample before the chunk, or 0), p_hat alike,
//   ESR = sum (p - p_hat)^2 / (sum p^2 + 1e-30), DC = (mean y - mean y_hat)^2 / (mean y^2 + 1e-5),
//   loss = (1 - w) ESR + w DC, sums and means over every row and step.
// dLoss/dy_hat[t] = -2 (1 - w) / (sum p^2 + 1e-30) (e[t] - c e[t+1]) - 2 w diff / (N power),
// with e = p - p_hat (e[T] = 0), diff = mean y - mean y_hat, power = mean y^2 + 1e-5, N = rows T.
// Sums are in double whatever T is.

#include <cstddef>

#include "vashrink/config.h"

namespace VASHRINK_NAMESPACE {

/// The loss of one chunk and the sums behind it (error and signal sums of the ESR).
struct ChunkLoss {
    double loss = 0.0;
    double err = 0.0;
    double sig = 0.0;
};

namespace rnn_loss {

/// DC_EPS of vashrink.target.esr, and the ESR's guard against a silent chunk.
inline constexpr double dc_eps = 1e-5;
inline constexpr double tiny = 1e-30;

/// Loss of `rows` x `steps` predictions hat(b, t) against y[b * stride + t]; writes
/// dLoss/dy_hat through grad(b, t) (a T&, also used as scratch). prev_y / prev_hat: the samples
/// before the chunk per row (null: 0); c: pre-emphasis coefficient, w: DC weight.
template <typename T, typename Hat, typename Grad>
ChunkLoss chunk_loss(int rows, int steps, const T* y, std::size_t stride, const T* prev_y,
                     const T* prev_hat, double c, double w, Hat hat, Grad grad) noexcept {
    double err = 0, sig = 0, sy = 0, syh = 0, sy2 = 0;
    for (int b = 0; b < rows; ++b) {
        double y_before = prev_y ? double(prev_y[b]) : 0.0;
        double h_before = prev_hat ? double(prev_hat[b]) : 0.0;
        for (int t = 0; t < steps; ++t) {
            const double yv = y[b * stride + t], hv = hat(b, t);
            const double p = yv - c * y_before, e = p - (hv - c * h_before);
            grad(b, t) = T(e);
            err += e * e;
            sig += p * p;
            sy += yv;
            syh += hv;
            sy2 += yv * yv;
            y_before = yv;
            h_before = hv;
        }
    }
    const double n = double(rows) * steps;
    const double power = sy2 / n + dc_eps;
    const double diff = sy / n - syh / n;
    ChunkLoss out;
    out.err = err;
    out.sig = sig;
    out.loss = (1.0 - w) * err / (sig + tiny) + w * diff * diff / power;
    const double ke = -2.0 * (1.0 - w) / (sig + tiny), kd = -2.0 * w * diff / (n * power);
    for (int b = 0; b < rows; ++b)
        for (int t = 0; t < steps; ++t) {
            const double e = grad(b, t);
            const double next = t + 1 < steps ? double(grad(b, t + 1)) : 0.0;
            grad(b, t) = T(ke * (e - c * next) + kd);
        }
    return out;
}

}  // namespace rnn_loss
}  // namespace VASHRINK_NAMESPACE
