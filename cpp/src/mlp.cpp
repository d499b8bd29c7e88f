// Bindings for the run-time MLP engine: load from numpy arrays, run per sample or per block,
// and the raw timing loops (the GIL is released around every loop over samples).
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

template <typename T>
class PyMlp {
public:
    /// Load; returns "" on success or what was wrong. Any failure leaves the model empty (as
    /// Model::load does), also when the arrays are refused before they reach it.
    std::string load(const std::vector<PyLayer<T>>& layers) {
        std::vector<vashrink::LayerSpec<T>> specs;
        std::string error = vashrink_py::to_specs(layers, specs);
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error.empty()) {
            model_.clear();
            return error;
        }
        const vashrink::Status st = model_.load(specs.data(), specs.size());
        return st.ok ? std::string() : st.message;
    }

    T forward(T x) {
        require(1);
        std::lock_guard<std::mutex> lock(mutex_);
        return model_.forward(x);
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

    Array<T> process_block(const Array<T>& x, int block_size) {
        if (block_size < 1) throw std::invalid_argument("block_size must be at least 1");
        const int n = rows(x);
        Array<T> y = output(n);
        T* out = y.mutable_data();
        const T* in = x.data();
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        run_blocks(in, out, n, block_size);
        return y;
    }

    std::vector<double> time_samples(const Array<T>& buffer, int repeats, int warmup) {
        return time(buffer, repeats, warmup, 0);
    }

    std::vector<double> time_blocks(const Array<T>& buffer, int block_size, int repeats, int warmup) {
        if (block_size < 1) throw std::invalid_argument("block_size must be at least 1");
        return time(buffer, repeats, warmup, block_size);
    }

    int in_size() const { return model_.in_size(); }
    int out_size() const { return model_.out_size(); }
    int n_layers() const { return model_.n_layers(); }
    int chunk() const { return model_.chunk(); }
    bool loaded() const { return model_.loaded(); }

private:
    void require(int in) const {
        if (!model_.loaded()) throw std::invalid_argument("no model is loaded");
        if (model_.in_size() != in)
            throw std::invalid_argument("the model has " + std::to_string(model_.in_size()) + " inputs");
    }

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

    void run_blocks(const T* in, T* out, int n, int block_size) noexcept {
        const std::size_t in_size = static_cast<std::size_t>(model_.in_size());
        const std::size_t out_size = static_cast<std::size_t>(model_.out_size());
        for (int off = 0; off < n; off += block_size) {
            const int m = std::min(block_size, n - off);
            model_.process_block(in + off * in_size, out + off * out_size, m);
        }
    }

    std::vector<double> time(const Array<T>& buffer, int repeats, int warmup, int block_size) {
        if (repeats < 1) throw std::invalid_argument("repeats must be at least 1");
        if (warmup < 0) throw std::invalid_argument("warmup must be at least 0");
        const int n = rows(buffer);
        std::vector<T> out(static_cast<std::size_t>(n) * model_.out_size());
        std::vector<double> seconds;
        seconds.reserve(static_cast<std::size_t>(repeats));
        const T* in = buffer.data();
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        for (int r = -warmup; r < repeats; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            if (block_size == 0) {
                model_.process(in, out.data(), n);
            } else {
                run_blocks(in, out.data(), n, block_size);
            }
            const auto t1 = std::chrono::steady_clock::now();
            if (r >= 0) seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
        }
        return seconds;
    }

    vashrink::Model<T> model_;
    std::mutex mutex_;
};

/// Element-wise activation through the engine's vector code (for testing the approximations).
template <typename T>
Array<T> apply_activation(const std::string& name, const Array<T>& x, T slope) {
    vashrink::Activation a;
    if (!vashrink::activation_from_name(name.c_str(), a) || a == vashrink::Activation::softmax)
        throw std::invalid_argument("not an element-wise activation: '" + name + "'");
    using V = vashrink::simd::Ops<T>;
    constexpr int L = V::lanes;
    const py::ssize_t n = x.size();
    Array<T> y(n);
    std::vector<T> buf(static_cast<std::size_t>(vashrink::simd::padded<T>(static_cast<int>(n))), T(0));
    std::copy(x.data(), x.data() + n, buf.begin());
    const auto s = V::set1(slope);
    for (std::size_t i = 0; i < buf.size(); i += L) {
        auto v = V::load(buf.data() + i);
        switch (a) {
            case vashrink::Activation::tanh: v = vashrink::activate<T, vashrink::Activation::tanh>(v, s); break;
            case vashrink::Activation::relu: v = vashrink::activate<T, vashrink::Activation::relu>(v, s); break;
            case vashrink::Activation::sigmoid: v = vashrink::activate<T, vashrink::Activation::sigmoid>(v, s); break;
            case vashrink::Activation::elu: v = vashrink::activate<T, vashrink::Activation::elu>(v, s); break;
            case vashrink::Activation::prelu: v = vashrink::activate<T, vashrink::Activation::prelu>(v, s); break;
            default: break;
        }
        V::store(buf.data() + i, v);
    }
    std::copy(buf.begin(), buf.begin() + n, y.mutable_data());
    return y;
}

template <typename T>
void bind_mlp(py::module_& m, const char* name) {
    py::class_<PyMlp<T>>(m, name)
        .def(py::init<>())
        .def("load", &PyMlp<T>::load, py::arg("layers"))
        .def("forward", &PyMlp<T>::forward, py::arg("x"))
        .def("process_samples", &PyMlp<T>::process_samples, py::arg("x"))
        .def("process_block", &PyMlp<T>::process_block, py::arg("x"), py::arg("block_size"))
        .def("time_samples", &PyMlp<T>::time_samples, py::arg("buffer"), py::arg("repeats"),
             py::arg("warmup"))
        .def("time_blocks", &PyMlp<T>::time_blocks, py::arg("buffer"), py::arg("block_size"),
             py::arg("repeats"), py::arg("warmup"))
        .def_property_readonly("in_size", &PyMlp<T>::in_size)
        .def_property_readonly("out_size", &PyMlp<T>::out_size)
        .def_property_readonly("n_layers", &PyMlp<T>::n_layers)
        .def_property_readonly("chunk", &PyMlp<T>::chunk)
        .def_property_readonly("loaded", &PyMlp<T>::loaded)
        // The lanes the kernels pad to: equal to build_info's float32_lanes / float64_lanes (both
        // come from vashrink::simd::Ops<T>::lanes).
        .def_property_readonly_static("lanes", [](py::object) { return vashrink::simd::lanes_v<T>; });
}

}  // namespace

void register_mlp(py::module_& m) {
    bind_mlp<float>(m, "MlpF32");
    bind_mlp<double>(m, "MlpF64");
    m.def("apply_activation_f32", &apply_activation<float>, py::arg("name"), py::arg("x"),
          py::arg("slope") = 0.0f);
    m.def("apply_activation_f64", &apply_activation<double>, py::arg("name"), py::arg("x"),
          py::arg("slope") = 0.0);
}
