// Bindings for recurrent models in the run-time engine (a stack of GRU/LSTM layers, dense
// layers, an optional input skip): load from numpy arrays in torch layout, stream samples with
// the state carried between calls, and the raw timing loops (the GIL is released around every
// loop).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "py_layers.h"
#include "vashrink/model.h"

namespace py = pybind11;

namespace {

using vashrink_py::Array;
using vashrink_py::PyLayer;

/// One recurrent layer from Python: (cell, weight_ih, weight_hh, bias_ih, bias_hh or None).
template <typename T>
using PyRnnLayer = std::tuple<std::string, Array<T>, Array<T>, Array<T>, std::optional<Array<T>>>;

/// A spec pointing into `layer` (which must outlive it), or what was wrong ("" if nothing).
template <typename T>
std::string to_spec(const PyRnnLayer<T>& layer, vashrink::RecurrentSpec<T>& spec) {
    const auto& [cell, weight_ih, weight_hh, bias_ih, bias_hh] = layer;
    if (cell == "gru") {
        spec.cell = vashrink::Cell::gru;
    } else if (cell == "lstm") {
        spec.cell = vashrink::Cell::lstm;
    } else {
        return "unknown cell '" + cell + "' (use gru or lstm)";
    }
    const py::ssize_t gates = vashrink::gate_count(spec.cell);
    if (weight_ih.ndim() != 2 || weight_hh.ndim() != 2 || weight_hh.shape(0) % gates != 0)
        return "weight_ih and weight_hh must be 2-D [gates * hidden][in] and [gates * hidden][hidden]";
    const py::ssize_t hidden = weight_hh.shape(1);
    if (hidden < 1 || hidden > vashrink::recurrent::max_hidden ||
        weight_ih.shape(1) < 1 || weight_ih.shape(1) > vashrink::recurrent::max_inputs)
        return "hidden size must be 1.." + std::to_string(vashrink::recurrent::max_hidden) +
               " and inputs 1.." + std::to_string(vashrink::recurrent::max_inputs);
    if (weight_hh.shape(0) != gates * hidden || weight_ih.shape(0) != gates * hidden)
        return "weights must have " + std::to_string(gates * hidden) + " rows (" +
               std::to_string(gates) + " gates x hidden " + std::to_string(hidden) + ")";
    if (bias_ih.ndim() != 1 || bias_ih.shape(0) != gates * hidden ||
        (bias_hh && (bias_hh->ndim() != 1 || bias_hh->shape(0) != gates * hidden)))
        return "biases must have " + std::to_string(gates * hidden) + " values";
    spec.in_size = static_cast<int>(weight_ih.shape(1));
    spec.hidden_size = static_cast<int>(hidden);
    spec.weight_ih = weight_ih.data();
    spec.weight_hh = weight_hh.data();
    spec.bias_ih = bias_ih.data();
    spec.bias_hh = bias_hh ? bias_hh->data() : nullptr;
    return "";
}

template <typename T>
class PyRecurrent {
public:
    /// Load a stack of recurrent layers and a dense head; returns "" on success or what was
    /// wrong (the model is then empty).
    std::string load_stack(const std::vector<PyRnnLayer<T>>& rnn, const std::vector<PyLayer<T>>& dense,
                           bool skip) {
        std::lock_guard<std::mutex> lock(mutex_);
        model_.clear();
        if (rnn.size() > vashrink::RecurrentStack<T>::max_layers)
            return std::to_string(rnn.size()) + " recurrent layers; at most " +
                   std::to_string(vashrink::RecurrentStack<T>::max_layers) + " are supported";
        std::vector<vashrink::RecurrentSpec<T>> specs(rnn.size());
        for (std::size_t k = 0; k < rnn.size(); ++k) {
            const std::string error = to_spec(rnn[k], specs[k]);
            if (!error.empty())
                return (rnn.size() > 1 ? "recurrent layer " + std::to_string(k) + ": " : "") + error;
        }
        std::vector<vashrink::LayerSpec<T>> dense_specs;
        const std::string error = vashrink_py::to_specs(dense, dense_specs);
        if (!error.empty()) return error;
        const vashrink::Status st =
            model_.load(specs.data(), specs.size(), dense_specs.data(), dense_specs.size(), skip);
        return st.ok ? std::string() : st.message;
    }

    /// One recurrent layer (load_stack with one entry).
    std::string load(const std::string& cell, const Array<T>& weight_ih, const Array<T>& weight_hh,
                     const Array<T>& bias_ih, const std::optional<Array<T>>& bias_hh,
                     const std::vector<PyLayer<T>>& dense, bool skip) {
        return load_stack({PyRnnLayer<T>{cell, weight_ih, weight_hh, bias_ih, bias_hh}}, dense, skip);
    }

    T forward(T x) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!model_.loaded()) throw std::invalid_argument("no model is loaded");
        if (model_.in_size() != 1)
            throw std::invalid_argument("the model has " + std::to_string(model_.in_size()) + " inputs");
        return model_.forward(x);
    }

    void reset() {
        std::lock_guard<std::mutex> lock(mutex_);
        model_.reset();
    }

    Array<T> process_samples(const Array<T>& x) {
        const int n = rows(x);
        Array<T> y = output(n);
        T* out = y.mutable_data();
        const T* in = x.data();
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        model_.process(in, out, n);
        return y;
    }

    /// Seconds per repeat over `buffer` (per sample; block_size > 0 feeds process_block that
    /// many samples per call, which for a recurrent model is the same per-sample loop). The state
    /// is reset before the first pass and after the last.
    std::vector<double> time(const Array<T>& buffer, int block_size, int repeats, int warmup) {
        if (repeats < 1) throw std::invalid_argument("repeats must be at least 1");
        if (warmup < 0) throw std::invalid_argument("warmup must be at least 0");
        if (block_size < 0) throw std::invalid_argument("block_size must be at least 1");
        const int n = rows(buffer);
        std::vector<T> out(static_cast<std::size_t>(n) * model_.out_size());
        std::vector<double> seconds;
        seconds.reserve(static_cast<std::size_t>(repeats));
        const T* in = buffer.data();
        const std::size_t in_size = static_cast<std::size_t>(model_.in_size());
        const std::size_t out_size = static_cast<std::size_t>(model_.out_size());
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        model_.reset();
        for (int r = -warmup; r < repeats; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            if (block_size == 0) {
                model_.process(in, out.data(), n);
            } else {
                for (int off = 0; off < n; off += block_size) {
                    const int m = std::min(block_size, n - off);
                    model_.process_block(in + off * in_size, out.data() + off * out_size, m);
                }
            }
            const auto t1 = std::chrono::steady_clock::now();
            if (r >= 0) seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
        }
        model_.reset();
        return seconds;
    }

    int in_size() const { return model_.in_size(); }
    int out_size() const { return model_.out_size(); }
    int hidden_size() const { return model_.hidden_size(); }
    int n_recurrent() const { return model_.n_recurrent(); }
    std::string cell() const { return model_.is_recurrent() ? vashrink::cell_name(model_.cell()) : ""; }
    std::vector<std::string> cells() const {
        std::vector<std::string> out;
        for (int k = 0; k < model_.n_recurrent(); ++k) out.emplace_back(vashrink::cell_name(model_.cell(k)));
        return out;
    }
    std::vector<int> hidden_sizes() const {
        std::vector<int> out;
        for (int k = 0; k < model_.n_recurrent(); ++k) out.push_back(model_.hidden_size(k));
        return out;
    }
    bool skip() const { return model_.input_skip(); }
    bool loaded() const { return model_.loaded(); }

private:
    int rows(const Array<T>& x) const {
        if (!model_.loaded()) throw std::invalid_argument("no model is loaded");
        const int in = model_.in_size();
        if (x.ndim() == 1 && in == 1) return static_cast<int>(x.shape(0));
        if (x.ndim() == 2 && x.shape(1) == in) return static_cast<int>(x.shape(0));
        throw std::invalid_argument("input must have shape (n_samples, " + std::to_string(in) + ")" +
                                    (in == 1 ? " or (n_samples,)" : ""));
    }

    Array<T> output(int n) const {
        if (model_.out_size() == 1) return Array<T>(n);
        return Array<T>({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(model_.out_size())});
    }

    vashrink::Model<T> model_;
    mutable std::mutex mutex_;
};

template <typename T>
void bind_recurrent(py::module_& m, const char* name) {
    py::class_<PyRecurrent<T>>(m, name)
        .def(py::init<>())
        .def("load_stack", &PyRecurrent<T>::load_stack, py::arg("rnn"), py::arg("dense"),
             py::arg("skip"))
        .def("load", &PyRecurrent<T>::load, py::arg("cell"), py::arg("weight_ih"),
             py::arg("weight_hh"), py::arg("bias_ih"), py::arg("bias_hh"), py::arg("dense"),
             py::arg("skip"))
        .def("forward", &PyRecurrent<T>::forward, py::arg("x"))
        .def("reset", &PyRecurrent<T>::reset)
        .def("process_samples", &PyRecurrent<T>::process_samples, py::arg("x"))
        .def("time_samples",
             [](PyRecurrent<T>& self, const Array<T>& buffer, int repeats, int warmup) {
                 return self.time(buffer, 0, repeats, warmup);
             },
             py::arg("buffer"), py::arg("repeats"), py::arg("warmup"))
        .def("time_blocks",
             [](PyRecurrent<T>& self, const Array<T>& buffer, int block_size, int repeats, int warmup) {
                 if (block_size < 1) throw std::invalid_argument("block_size must be at least 1");
                 return self.time(buffer, block_size, repeats, warmup);
             },
             py::arg("buffer"), py::arg("block_size"), py::arg("repeats"), py::arg("warmup"))
        .def_property_readonly("in_size", &PyRecurrent<T>::in_size)
        .def_property_readonly("out_size", &PyRecurrent<T>::out_size)
        .def_property_readonly("hidden_size", &PyRecurrent<T>::hidden_size)
        .def_property_readonly("n_recurrent", &PyRecurrent<T>::n_recurrent)
        .def_property_readonly("cell", &PyRecurrent<T>::cell)
        .def_property_readonly("cells", &PyRecurrent<T>::cells)
        .def_property_readonly("hidden_sizes", &PyRecurrent<T>::hidden_sizes)
        .def_property_readonly("skip", &PyRecurrent<T>::skip)
        .def_property_readonly("loaded", &PyRecurrent<T>::loaded)
        .def_property_readonly_static("lanes", [](py::object) { return vashrink::simd::lanes_v<T>; });
}

}  // namespace

void register_recurrent(py::module_& m) {
    bind_recurrent<float>(m, "RecurrentF32");
    bind_recurrent<double>(m, "RecurrentF64");
}
