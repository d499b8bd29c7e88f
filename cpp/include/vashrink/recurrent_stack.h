#pragma once
// A run-time stack of 1..max_layers GRU/LSTM layers (gru.h, lstm.h), each fed the previous
// layer's new state h (NAM's "lite" LSTM is two layers of 8). Cells and hidden sizes may differ
// between layers. load() validates every layer (the cell, the weights, in_size == the previous
// hidden_size) and allocates everything; forward() and reset() are noexcept and allocation-free.
// A failed load leaves the stack empty (n_layers() == 0; forward returns zeros).
//
// Chaining is safe with the double-buffered state: layer k's forward returns the half of its h
// it just wrote, which layer k + 1 reads while writing only its own buffers; layer k next writes
// the other half, after k + 1 has consumed this one.

#include <cstddef>
#include <new>
#include <string>
#include <vector>

#include "vashrink/config.h"
#include "vashrink/gru.h"
#include "vashrink/lstm.h"
#include "vashrink/storage.h"

namespace VASHRINK_NAMESPACE {

template <typename T>
class RecurrentStack {
public:
    /// Most layers a stack accepts (as the Python side's MAX_RNN_LAYERS).
    static constexpr std::size_t max_layers = 8;

    /// Validate and pack `n` layers in torch layout; on failure the stack is empty.
    Status load(const RecurrentSpec<T>* specs, std::size_t n) {
        clear();
        if (specs == nullptr || n == 0) return Status::error("the model has no recurrent layer");
        if (n > max_layers)
            return Status::error(std::to_string(n) + " recurrent layers; at most " +
                                 std::to_string(max_layers) + " are supported");
        for (std::size_t k = 0; k < n; ++k) {
            const std::string where = n > 1 ? "recurrent layer " + std::to_string(k) + ": " : "";
            const RecurrentSpec<T>& s = specs[k];
            if (s.cell != Cell::gru && s.cell != Cell::lstm)
                return Status::error((n > 1 ? where : "recurrent layer: ") +
                                     "unknown cell type (use gru or lstm)");
            const std::string problem = recurrent::check(s, s.cell);
            if (!problem.empty()) return Status::error(where + problem);
            if (k > 0 && s.in_size != specs[k - 1].hidden_size)
                return Status::error(where + "expects " + std::to_string(s.in_size) +
                                     " inputs but recurrent layer " + std::to_string(k - 1) + " (" +
                                     name(specs[k - 1].cell) + ") gives " +
                                     std::to_string(specs[k - 1].hidden_size));
        }
        try {
            layers_.resize(n);
        } catch (const std::bad_alloc&) {
            clear();
            return Status::error("out of memory while loading the recurrent layers");
        }
        for (std::size_t k = 0; k < n; ++k) {
            Slot& slot = layers_[k];
            slot.cell = specs[k].cell;
            const Status st = slot.cell == Cell::gru ? slot.gru.load(specs[k]) : slot.lstm.load(specs[k]);
            if (!st.ok) {
                clear();
                return st;
            }
        }
        return {};
    }

    /// Empty the stack (frees its memory; not for the audio thread).
    void clear() noexcept { layers_ = std::vector<Slot>(); }

    std::size_t n_layers() const noexcept { return layers_.size(); }
    /// Inputs of the first layer, hidden units of the last (0 when empty).
    int in_size() const noexcept { return layers_.empty() ? 0 : layers_.front().in_size(); }
    int hidden_size() const noexcept { return layers_.empty() ? 0 : layers_.back().hidden_size(); }
    /// Cell{} / 0 for k >= n_layers().
    Cell cell(std::size_t k) const noexcept { return k < layers_.size() ? layers_[k].cell : Cell{}; }
    int hidden_size(std::size_t k) const noexcept { return k < layers_.size() ? layers_[k].hidden_size() : 0; }

    /// Zero every layer's state.
    void reset() noexcept {
        for (Slot& s : layers_) s.reset();
    }

    /// One sample of in_size() inputs through every layer; returns the last layer's state h
    /// (hidden_size() values, padded), valid until the next call. Zeros when empty.
    VASHRINK_INLINE const T* forward(const T* x) noexcept {
        if (layers_.empty()) return empty_;
        for (Slot& s : layers_) x = s.forward(x);
        return x;
    }

private:
    static const char* name(Cell c) noexcept { return c == Cell::gru ? "GRU" : "LSTM"; }

    /// One layer: a GRU or an LSTM (the other member stays empty and holds no heap memory).
    struct Slot {
        Cell cell{};
        GruLayer<T> gru;
        LstmLayer<T> lstm;
        int in_size() const noexcept { return cell == Cell::gru ? gru.in_size() : lstm.in_size(); }
        int hidden_size() const noexcept { return cell == Cell::gru ? gru.hidden_size() : lstm.hidden_size(); }
        void reset() noexcept {
            gru.reset();
            lstm.reset();
        }
        VASHRINK_INLINE const T* forward(const T* x) noexcept {
            return cell == Cell::gru ? gru.forward(x) : lstm.forward(x);
        }
    };

    std::vector<Slot> layers_;
    alignas(64) T empty_[simd::lanes_v<T>] = {};
};

}  // namespace VASHRINK_NAMESPACE
