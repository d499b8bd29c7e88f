#pragma once
// What every loader shares: the Status a load returns instead of throwing, cache-line aligned
// heap storage for lane-packed weights, and the finiteness check loaders apply to weights.

#include <cmath>
#include <cstddef>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "vashrink/config.h"

namespace VASHRINK_NAMESPACE {

/// Result of a load: ok, or a message saying what was wrong.
struct Status {
    bool ok = true;
    std::string message;
    static Status error(std::string msg) { return {false, std::move(msg)}; }
};

/// Heap storage aligned to a cache line (so lane-packed rows start on register boundaries).
template <typename T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t alignment{64};
    AlignedAllocator() = default;
    template <typename U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, alignment); }
    template <typename U>
    bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
    template <typename U>
    bool operator!=(const AlignedAllocator<U>&) const noexcept { return false; }
};
template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

template <typename T>
bool all_finite(const T* p, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(p[i])) return false;
    }
    return true;
}

}  // namespace VASHRINK_NAMESPACE
