#pragma once
// Adam with torch.optim.Adam's default semantics (no weight decay, no amsgrad), for the native
// recurrent trainer, and the per-candidate gradient clip of python/vashrink/train/rnn_pack.py:
//   g <- g min(1, max_norm / (|g| + 1e-12)),
//   m <- m + (1 - b1)(g - m),  v <- b2 v + (1 - b2) g^2,
//   p <- p - lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// init() allocates; step() is noexcept and allocation-free.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <new>

#include "vashrink/config.h"
#include "vashrink/storage.h"

namespace VASHRINK_NAMESPACE {

template <typename T>
class Adam {
public:
    Status init(std::size_t n) {
        try {
            m_.assign(n, T(0));
            v_.assign(n, T(0));
        } catch (const std::bad_alloc&) {
            return Status::error("Adam: out of memory");
        }
        steps_ = 0;
        return {};
    }

    void reset() noexcept {
        std::fill(m_.begin(), m_.end(), T(0));
        std::fill(v_.begin(), v_.end(), T(0));
        steps_ = 0;
    }

    std::size_t size() const noexcept { return m_.size(); }
    long steps() const noexcept { return steps_; }
    const T* first_moment() const noexcept { return m_.data(); }
    const T* second_moment() const noexcept { return v_.data(); }

    /// The gradient's L2 norm (summed in double).
    static double norm(const T* grad, std::size_t n) noexcept {
        double s = 0.0;
        for (std::size_t i = 0; i < n; ++i) s += double(grad[i]) * double(grad[i]);
        return std::sqrt(s);
    }

    /// Clip `grad` to `max_norm` (none if <= 0), then one step on `params` (size() values).
    /// Returns the gradient's norm before clipping.
    double step(T* params, T* grad, double lr, double max_norm, double beta1 = 0.9,
                double beta2 = 0.999, double eps = 1e-8) noexcept {
        const std::size_t n = m_.size();
        const double total = norm(grad, n);
        if (max_norm > 0.0) {
            const T scale = T(std::fmin(max_norm / (total + 1e-12), 1.0));
            for (std::size_t i = 0; i < n; ++i) grad[i] *= scale;
        }
        ++steps_;
        const double bc1 = 1.0 - std::pow(beta1, double(steps_));
        const double bc2 = 1.0 - std::pow(beta2, double(steps_));
        const T step_size = T(lr / bc1), bc2_sqrt = T(std::sqrt(bc2));
        const T w1 = T(1.0 - beta1), b2 = T(beta2), w2 = T(1.0 - beta2), e = T(eps);
        for (std::size_t i = 0; i < n; ++i) {
            const T g = grad[i];
            m_[i] = m_[i] + w1 * (g - m_[i]);
            v_[i] = v_[i] * b2 + w2 * g * g;
            params[i] -= step_size * (m_[i] / (std::sqrt(v_[i]) / bc2_sqrt + e));
        }
        return total;
    }

private:
    AlignedVector<T> m_, v_;
    long steps_ = 0;
};

}  // namespace VASHRINK_NAMESPACE
