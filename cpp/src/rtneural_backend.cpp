// Optional second backend: the user's own RTNeural (never vendored), built in when CMake is given
// RTNEURAL_DIR. It wraps RTNeural's run-time RTNeural::Model<float>, created by RTNeural's own
// json_parser::parseJson, so vashrink can time it on the same weights as its engine and prove that
// RTNeural's parser loads vashrink's exported files.
//
// RTNeural's parser trusts its input: an unknown activation string adds a null layer (segfault),
// a short bias or PReLU vector is read past its end, a wrongly cased type is skipped silently, a
// 4-entry shape sizes the layer shape[2] * shape[3] and an absurd size allocates. So every file is validated here, structurally and against the sizes
// RTNeural will allocate, before parseJson sees it; anything RTNeural still throws is caught.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

#ifdef VASHRINK_WITH_RTNEURAL

#include "rtneural_alignment.h"
#define RTNEURAL_NO_DEBUG 1
#include <RTNeural/RTNeural.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace vashrink::rtneural {

using Json = nlohmann::json;

#if RTNEURAL_USE_EIGEN
constexpr const char* kBackend = "eigen";
#elif RTNEURAL_USE_XSIMD
constexpr const char* kBackend = "xsimd";
#else
constexpr const char* kBackend = "stl";
#endif

constexpr std::size_t kMaxUnits = 65536;     // per layer, as vashrink.export.validate.MAX_UNITS
constexpr std::size_t kMaxLayers = 1024;
constexpr int kMaxNesting = 16;              // the deepest valid file nests 6 levels

/// A file RTNeural would crash on or mis-load; the message names the layer and the fix.
struct FormatError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw FormatError(where + ": " + what);
}

/// Rejects pathological nesting before nlohmann builds (and later recursively destroys) a tree.
void check_nesting(const std::string& text) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxNesting)
                fail("file", "nested deeper than " + std::to_string(kMaxNesting) +
                                 " levels; this is not an RTNeural model file");
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
}

std::size_t positive_size(const Json& v, const std::string& where, const std::string& what) {
    if (!v.is_number_integer())
        fail(where, what + " must be an integer size, got " + v.dump());
    const auto value = v.get<long long>();
    if (value < 1 || static_cast<unsigned long long>(value) > kMaxUnits)
        fail(where, what + " " + std::to_string(value) + " is outside 1.." +
                        std::to_string(kMaxUnits) +
                        " (a real-time model this large cannot run per sample)");
    return static_cast<std::size_t>(value);
}

/// The size RTNeural reads from a shape array: `shape[2] * shape[3]` for 4 entries (conv2d's
/// features x channels), else `shape.back()`.
std::size_t rt_dim(const Json& shape, const std::string& where, const char* key) {
    const std::string k = std::string("'") + key + "'";
    if (!shape.is_array() || shape.empty())
        fail(where, k + " must be a non-empty array like [null, 44]");
    if (shape.size() != 4) return positive_size(shape.back(), where, k + " size");
    const std::string four = "a 4-entry " + k + " (RTNeural reads it as [2] x [3])";
    const std::size_t a = positive_size(shape[2], where, four + ": entry 2");
    const std::size_t b = positive_size(shape[3], where, four + ": entry 3");
    if (a * b > kMaxUnits)
        fail(where, four + " has " + std::to_string(a * b) + " units, more than " +
                        std::to_string(kMaxUnits));
    return a * b;
}

void check_vector(const Json& v, std::size_t n, const std::string& where, const std::string& name) {
    if (!v.is_array() || v.size() != n)
        fail(where, name + " must be a list of " + std::to_string(n) + " numbers, got " +
                        (v.is_array() ? std::to_string(v.size()) + " entries" : v.type_name()));
    for (const Json& x : v) {
        if (!x.is_number())
            fail(where, name + " contains " + x.dump() + " where a number was expected");
        const double d = x.get<double>();
        if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max())
            fail(where, name + " contains " + x.dump() +
                            ", which is not a finite float32; retrain or clip the weights");
    }
}

/// A [rows][cols] matrix; `hint` explains a transposed layout when the swapped shape matches.
void check_matrix(const Json& m, std::size_t rows, std::size_t cols, const std::string& where,
                  const std::string& name, const std::string& hint) {
    if (!m.is_array())
        fail(where, name + " must be a nested list, got " + std::string(m.type_name()));
    const bool transposed = rows != cols && m.size() == cols && !m.empty() && m[0].is_array() &&
                            m[0].size() == rows;
    if (transposed) fail(where, name + " has shape [" + std::to_string(cols) + "][" +
                                    std::to_string(rows) + "], " + hint);
    if (m.size() != rows)
        fail(where, name + " must have " + std::to_string(rows) + " rows of " +
                        std::to_string(cols) + ", got " + std::to_string(m.size()) + " rows");
    for (std::size_t r = 0; r < rows; ++r)
        check_vector(m[r], cols, where, name + " row " + std::to_string(r));
}

void check_activation(const Json& layer, const std::string& where, bool required) {
    if (!layer.contains("activation")) {
        if (required) fail(where, "an 'activation' layer needs an \"activation\" name");
        return;
    }
    const Json& a = layer["activation"];
    if (!a.is_string()) fail(where, "\"activation\" must be a string, got " + a.dump());
    const auto name = a.get<std::string>();
    if (name.empty() && !required) return;
    if (name == "tanh" || name == "relu" || name == "sigmoid" || name == "softmax" || name == "elu")
        return;
    fail(where, "activation \"" + name + "\" is not one RTNeural knows (its run-time model would " +
                    "crash on it); use one of tanh, relu, sigmoid, softmax, elu, or \"\" for none");
}

/// Validates the whole file against what parseJson will allocate and read.
void validate(const Json& root) {
    if (!root.is_object()) fail("file", "top level must be an object with \"in_shape\" and \"layers\"");
    if (!root.contains("in_shape")) fail("file", "missing \"in_shape\" (e.g. [null, 1])");
    if (!root.contains("layers")) fail("file", "missing \"layers\"");
    std::size_t size = rt_dim(root["in_shape"], "in_shape", "in_shape");
    if (size != 1)
        fail("in_shape", "the model takes " + std::to_string(size) +
                             " inputs; vashrink runs RTNeural models with one input sample, [null, 1]");
    const Json& layers = root["layers"];
    if (!layers.is_array() || layers.empty()) fail("layers", "must be a non-empty list of layers");
    if (layers.size() > kMaxLayers)
        fail("layers", std::to_string(layers.size()) + " layers is more than " +
                           std::to_string(kMaxLayers));

    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Json& layer = layers[i];
        std::string where = "layer " + std::to_string(i);
        if (!layer.is_object()) fail(where, "must be an object");
        if (!layer.contains("type") || !layer["type"].is_string())
            fail(where, "missing its \"type\" string");
        const auto type = layer["type"].get<std::string>();
        where += " (" + type + ")";
        const bool known = type == "dense" || type == "time-distributed-dense" || type == "gru" ||
                           type == "lstm" || type == "prelu" || type == "batchnorm" ||
                           type == "activation";
        if (!known) {
            if (type == "conv1d" || type == "conv2d" || type == "batchnorm2d")
                fail(where, "this layer type is not supported by vashrink's RTNeural wrapper "
                            "(it runs dense, gru, lstm, prelu, batchnorm and activation layers)");
            fail(where, "unknown type (RTNeural would silently skip this layer and compute something "
                        "else); types are lowercase: dense, gru, lstm, prelu, activation");
        }
        if (!layer.contains("shape"))
            fail(where, "missing \"shape\" (e.g. [null, 44]); RTNeural needs it to size the layer");
        const std::size_t out = rt_dim(layer["shape"], where, "shape");
        if (!layer.contains("weights") && type != "activation")
            fail(where, "missing \"weights\"");
        const Json empty = Json::array();
        const Json& w = layer.contains("weights") ? layer["weights"] : empty;
        if (!w.is_array()) fail(where, "\"weights\" must be a list");
        const std::string units = std::to_string(size);

        if (type == "dense" || type == "time-distributed-dense") {
            // RTNeural leaves the bias at zero when there is only the kernel.
            if (w.size() != 1 && w.size() != 2)
                fail(where, "weights must be [kernel, bias] or [kernel]");
            check_matrix(w[0], size, out, where, "kernel",
                         "the PyTorch [out][in] layout; RTNeural wants [in][out]: write "
                         "Linear.weight transposed");
            if (w.size() == 2) check_vector(w[1], out, where, "bias");
            check_activation(layer, where, false);
        } else if (type == "gru" || type == "lstm") {
            const std::size_t gates = type == "gru" ? 3 : 4;
            if (w.size() != 3) fail(where, "weights must be [W, U, bias]");
            const std::string gate_hint = "the PyTorch layout; RTNeural wants W transposed, [in][" +
                                          std::to_string(gates) + "*hidden]";
            check_matrix(w[0], size, gates * out, where, "W", gate_hint);
            check_matrix(w[1], out, gates * out, where, "U", gate_hint);
            if (type == "gru")
                check_matrix(w[2], 2, gates * out, where, "bias",
                             "expected [2][3*hidden] (input and recurrent biases)");
            else
                check_vector(w[2], gates * out, where, "bias");
        } else if (type == "prelu") {
            if (out != size)
                fail(where, "shape " + std::to_string(out) + " must equal its input size " + units);
            if (w.size() != 1 || !w[0].is_array() || w[0].size() != 1)
                fail(where, "weights must be [[alphas]]");
            const std::size_t n = w[0][0].is_array() ? w[0][0].size() : 0;
            if (n != 1 && n != size)
                fail(where, "needs 1 or " + units + " slopes, got " + std::to_string(n));
            check_vector(w[0][0], n, where, "slopes");
        } else if (type == "batchnorm") {
            // RTNeural sizes it by its input, reads [gamma, beta, mean, var] (4 arrays) or
            // [mean, var], and multiplies by gamma / sqrt(var + epsilon).
            if (out != size)
                fail(where, "shape " + std::to_string(out) + " must equal its input size " + units);
            if (!layer.contains("epsilon") || !layer["epsilon"].is_number())
                fail(where, "needs a numeric \"epsilon\" (RTNeural throws without it)");
            const double eps = layer["epsilon"].get<double>();
            if (!std::isfinite(eps) || eps < 0) fail(where, "\"epsilon\" must be a number >= 0");
            if (w.size() != 2 && w.size() != 4)
                fail(where, "weights must be [gamma, beta, running_mean, running_var] or "
                            "[running_mean, running_var]");
            for (std::size_t k = 0; k < w.size(); ++k)
                check_vector(w[k], size, where, "batchnorm weights[" + std::to_string(k) + "]");
            for (const Json& var : w[w.size() - 1])
                if (!(static_cast<float>(var.get<double>()) + static_cast<float>(eps) > 0.0f))
                    fail(where, "running_var + epsilon must be positive for every channel");
        } else {
            if (out != size)
                fail(where, "shape " + std::to_string(out) + " must equal its input size " + units);
            check_activation(layer, where, true);
        }
        size = out;
    }
    if (size != 1)
        fail("layers", "the last layer has " + std::to_string(size) +
                           " outputs; vashrink runs RTNeural models with one output sample");
}

/// RTNeural's run-time Model<float>, loaded from JSON text by RTNeural's own parser.
class Model {
public:
    explicit Model(const std::string& text) {
        check_nesting(text);
        Json root;
        try {
            root = Json::parse(text);
        } catch (const std::exception& exc) {
            throw FormatError(std::string("file: not valid JSON (") + exc.what() +
                              "); write it with json.dump(..., allow_nan=False)");
        }
        validate(root);
        try {
            model_ = RTNeural::json_parser::parseJson<float>(root, false);
        } catch (const std::exception& exc) {
            throw FormatError(std::string("RTNeural's parser refused the file: ") + exc.what());
        }
        if (!model_ || model_->layers.empty())
            throw FormatError("RTNeural's parser returned no model for this file");
        for (const auto* layer : model_->layers)
            if (layer == nullptr) throw FormatError("RTNeural's parser produced an empty layer");
        if (model_->getInSize() != 1 || model_->getOutSize() != 1)
            throw FormatError("RTNeural loaded a model that is not one input, one output");
        layer_names_.reserve(model_->layers.size());
        for (const auto* layer : model_->layers) layer_names_.push_back(layer->getName());
        model_->reset();
    }

    float forward(float x) {
        std::lock_guard<std::mutex> lock(mutex_);
        return model_->forward(&x);
    }

    void reset() {
        std::lock_guard<std::mutex> lock(mutex_);
        model_->reset();
    }

    /// Per-sample forward over `n` samples, as a plugin's audio callback does.
    void process(const float* in, float* out, std::size_t n) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (std::size_t i = 0; i < n; ++i) out[i] = model_->forward(in + i);
    }

    /// Seconds per repeat over the whole buffer, split into blocks of `block_size` samples
    /// (block_size 0: one loop over the buffer). RTNeural's Model has no block API, so each block
    /// is the per-sample loop a plugin's processBlock runs.
    std::vector<double> time(const std::vector<float>& in, std::size_t block_size, int repeats,
                             int warmup) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<float> out(in.size());
        std::vector<double> seconds;
        seconds.reserve(static_cast<std::size_t>(repeats));
        const std::size_t n = in.size();
        const std::size_t step = block_size == 0 ? n : block_size;
        for (int r = -warmup; r < repeats; ++r) {
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t begin = 0; begin < n; begin += step) {
                const std::size_t end = begin + step < n ? begin + step : n;
                for (std::size_t i = begin; i < end; ++i) out[i] = model_->forward(&in[i]);
            }
            const auto stop = std::chrono::steady_clock::now();
            if (r >= 0) seconds.push_back(std::chrono::duration<double>(stop - start).count());
        }
        volatile float sink = out[n - 1];
        (void)sink;
        return seconds;
    }

    const std::vector<std::string>& layer_names() const { return layer_names_; }

private:
    std::unique_ptr<RTNeural::Model<float>> model_;
    std::vector<std::string> layer_names_;
    std::mutex mutex_;
};

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::vector<float> samples_of(const FloatArray& buffer) {
    if (buffer.ndim() != 1 || buffer.size() == 0)
        throw std::invalid_argument("the buffer must be a non-empty 1-D array of samples");
    return {buffer.data(), buffer.data() + buffer.size()};
}

void check_counts(int repeats, int warmup) {
    if (repeats < 1) throw std::invalid_argument("repeats must be at least 1");
    if (warmup < 0) throw std::invalid_argument("warmup must be 0 or more");
}

}  // namespace vashrink::rtneural

void register_rtneural(py::module_& m) {
    namespace rt = vashrink::rtneural;
    m.attr("has_rtneural") = true;
    m.attr("rtneural_backend") = rt::kBackend;
    py::register_exception<rt::FormatError>(m, "RTNeuralFormatError", PyExc_ValueError);

    py::class_<rt::Model>(m, "RTNeuralModel",
                          "RTNeural's run-time Model<float>, loaded by RTNeural's JSON parser")
        .def(py::init([](const std::string& text) {
                 py::gil_scoped_release release;
                 return std::make_unique<rt::Model>(text);
             }),
             py::arg("json_text"))
        .def("forward", &rt::Model::forward, py::arg("x"), "One sample through the model.")
        .def("reset", &rt::Model::reset, "Clear recurrent state.")
        .def_property_readonly("layer_names", &rt::Model::layer_names)
        .def(
            "process_samples",
            [](rt::Model& self, const rt::FloatArray& buffer) {
                const auto in = rt::samples_of(buffer);
                py::array_t<float> out(static_cast<py::ssize_t>(in.size()));
                float* dst = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.process(in.data(), dst, in.size());
                }
                return out;
            },
            py::arg("x"), "Per-sample forward over a 1-D buffer; returns the outputs.")
        .def(
            "time_samples",
            [](rt::Model& self, const rt::FloatArray& buffer, int repeats, int warmup) {
                rt::check_counts(repeats, warmup);
                const auto in = rt::samples_of(buffer);
                py::gil_scoped_release release;
                return self.time(in, 0, repeats, warmup);
            },
            py::arg("buffer"), py::arg("repeats"), py::arg("warmup"),
            "Seconds per repeat of a per-sample loop over the whole buffer.")
        .def(
            "time_blocks",
            [](rt::Model& self, const rt::FloatArray& buffer, int block_size, int repeats,
               int warmup) {
                rt::check_counts(repeats, warmup);
                if (block_size < 1) throw std::invalid_argument("block_size must be at least 1");
                const auto in = rt::samples_of(buffer);
                py::gil_scoped_release release;
                return self.time(in, static_cast<std::size_t>(block_size), repeats, warmup);
            },
            py::arg("buffer"), py::arg("block_size"), py::arg("repeats"), py::arg("warmup"),
            "Seconds per repeat over the whole buffer in blocks (per-sample forward in each).");
}

#else

void register_rtneural(py::module_& m) {
    m.attr("has_rtneural") = false;
    m.attr("rtneural_backend") = "";
}

#endif
