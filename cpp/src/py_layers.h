// Dense layers from Python for the bindings (mlp.cpp, recurrent.cpp): numpy arrays -> LayerSpec.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "vashrink/model.h"

namespace vashrink_py {

namespace py = pybind11;

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

/// One layer from Python: (weight [out][in], bias [out], activation name, slopes [out] or None).
template <typename T>
using PyLayer = std::tuple<Array<T>, Array<T>, std::string, std::optional<Array<T>>>;

/// Specs pointing into `layers` (which must outlive them), or what was wrong ("" if nothing).
template <typename T>
std::string to_specs(const std::vector<PyLayer<T>>& layers, std::vector<vashrink::LayerSpec<T>>& specs) {
    constexpr py::ssize_t max_units = vashrink::Model<T>::max_units;
    for (std::size_t k = 0; k < layers.size(); ++k) {
        const auto& [w, b, act_name, slopes] = layers[k];
        const std::string where = "layer " + std::to_string(k) + ": ";
        if (w.ndim() != 2) return where + "weight must be 2-D [out][in]";
        if (w.shape(0) > max_units || w.shape(1) > max_units)
            return where + "more than " + std::to_string(max_units) + " units";
        if (b.ndim() != 1 || b.shape(0) != w.shape(0))
            return where + "bias must have one value per output (" + std::to_string(w.shape(0)) + ")";
        vashrink::LayerSpec<T> s;
        s.out_size = static_cast<int>(w.shape(0));
        s.in_size = static_cast<int>(w.shape(1));
        if (!vashrink::activation_from_name(act_name.c_str(), s.activation))
            return where + "unknown activation '" + act_name + "'";
        s.weight = w.data();
        s.bias = b.data();
        if (slopes) {
            if (slopes->ndim() != 1 || slopes->shape(0) != w.shape(0))
                return where + "PReLU needs one slope per output (" + std::to_string(w.shape(0)) + ")";
            s.prelu_slopes = slopes->data();
        }
        specs.push_back(s);
    }
    return "";
}

}  // namespace vashrink_py
