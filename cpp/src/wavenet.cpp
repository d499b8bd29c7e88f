// Bindings for the WaveNet (cpp/include/vashrink/wavenet.h): load from numpy arrays in torch
// layout (one dict per layer array, one per layer), stream samples with the state carried between
// calls, and the raw timing loops (the GIL is released around every loop).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "vashrink/wavenet.h"

namespace py = pybind11;

namespace {

using Array = py::array_t<float, py::array::c_style | py::array::forcecast>;
namespace wn = vashrink::wavenet;

/// Arrays kept alive while the loader reads them, and the pointer to each (null for None).
struct Keep {
    std::vector<Array> arrays;
    const float* get(const py::dict& d, const char* key, py::ssize_t size) {
        if (!d.contains(key) || d[key].is_none()) return nullptr;
        Array a = d[key].cast<Array>();
        if (a.size() != size)
            throw std::invalid_argument(std::string(key) + " has " + std::to_string(a.size()) + " values; expected " +
                                        std::to_string(size));
        arrays.push_back(a);
        return arrays.back().data();
    }
};

wn::ActSpec act(const py::dict& d, const char* prefix, Keep& keep, int channels) {
    wn::ActSpec s;
    const std::string p(prefix);
    s.kind = d[(p + "_kind").c_str()].cast<int>();
    const auto params = d[(p + "_params").c_str()].cast<std::vector<float>>();
    if (params.size() != 4) throw std::invalid_argument(p + "_params must hold 4 values");
    std::copy(params.begin(), params.end(), s.params);
    s.slopes = keep.get(d, (p + "_slopes").c_str(), channels);
    return s;
}

/// A post-stack head from {"convs": [{"in", "out", "kernel", "w", "b"}], "act_kind",
/// "act_params"} into `spec` (its conv specs in `convs`).
void post_head(const py::dict& d, Keep& keep, std::vector<wn::HeadConvSpec>& convs, wn::PostHeadSpec& spec) {
    for (const auto& item : d["convs"].cast<py::list>()) {
        const py::dict c = item.cast<py::dict>();
        wn::HeadConvSpec h;
        h.in = c["in"].cast<int>();
        h.out = c["out"].cast<int>();
        h.kernel = c["kernel"].cast<int>();
        if (h.in < 1 || h.out < 1 || h.kernel < 1 || h.in > wn::kMaxChannels || h.out > wn::kMaxChannels ||
            h.kernel > 1024)
            throw std::invalid_argument("post-stack head: conv sizes out of range");
        h.w = keep.get(c, "w", static_cast<py::ssize_t>(h.out) * h.in * h.kernel);
        h.b = keep.get(c, "b", h.out);
        convs.push_back(h);
    }
    spec.convs = convs.data();
    spec.n = static_cast<int>(convs.size());
    spec.act = act(d, "act", keep, convs.empty() ? 1 : convs.front().in);
}

/// A layer's FiLMs ("film_<position>_w", "_b", "_shift"; absent: inactive) for a modulated
/// width per position; `cond`: the condition width.
void films(const py::dict& d, Keep& keep, wn::LayerSpec& y, const int (&dims)[wn::n_film], int cond) {
    for (int at = 0; at < wn::n_film; ++at) {
        const std::string key = "film_" + std::to_string(at);
        if (!d.contains((key + "_w").c_str()) || d[(key + "_w").c_str()].is_none()) continue;
        const bool shift = d[(key + "_shift").c_str()].cast<bool>();
        const py::ssize_t rows = (shift ? 2 : 1) * static_cast<py::ssize_t>(dims[at]);
        if (dims[at] < 1) throw std::invalid_argument(key + ": modulates nothing");
        y.film[at].shift = shift;
        y.film[at].w = keep.get(d, (key + "_w").c_str(), rows * cond);
        y.film[at].b = keep.get(d, (key + "_b").c_str(), rows);
    }
}

/// Load `arrays` (+ an optional condition DSP: a dict with the same keys, + an optional
/// post-stack head) into `model`; "" on success or what was wrong.
std::string build(wn::WaveNet& model, const py::list& arrays, float head_scale, const py::object& condition,
                  const py::object& head) {
        std::unique_ptr<wn::WaveNet> cond;
        if (!condition.is_none()) {
            cond = std::make_unique<wn::WaveNet>();
            try {
                const py::dict c = condition.cast<py::dict>();
                const std::string e = build(*cond, c["arrays"].cast<py::list>(), c["head_scale"].cast<float>(),
                                            c.contains("condition") ? py::object(c["condition"]) : py::object(py::none()),
                                            c.contains("head") ? py::object(c["head"]) : py::object(py::none()));
                if (!e.empty()) return "condition DSP: " + e;
            } catch (const py::cast_error& e) {
                return std::string("malformed condition DSP: ") + e.what();
            }
        }
        Keep keep;
        std::vector<wn::HeadConvSpec> head_convs;
        wn::PostHeadSpec head_spec;
        std::vector<std::vector<wn::LayerSpec>> layers(arrays.size());
        std::vector<wn::ArraySpec> specs(arrays.size());
        try {
            for (std::size_t k = 0; k < arrays.size(); ++k) {
                const py::dict a = arrays[k].cast<py::dict>();
                wn::ArraySpec& s = specs[k];
                s.input_size = a["input_size"].cast<int>();
                s.channels = a["channels"].cast<int>();
                s.bottleneck = a["bottleneck"].cast<int>();
                s.head_size = a["head_size"].cast<int>();
                s.head_kernel = a["head_kernel"].cast<int>();
                s.head_dilation = a["head_dilation"].cast<int>();
                s.cond_size = a.contains("cond_size") ? a["cond_size"].cast<int>() : 1;
                if (s.cond_size < 1 || s.cond_size > wn::kMaxChannels)
                    return "layer array " + std::to_string(k) + ": cond_size must be 1.." + std::to_string(wn::kMaxChannels);
                if (s.input_size < 1 || s.channels < 1 || s.bottleneck < 1 || s.head_size < 1 || s.head_kernel < 1 ||
                    s.channels > wn::kMaxChannels || s.bottleneck > wn::kMaxChannels)
                    return "layer array " + std::to_string(k) + ": sizes must be 1.." + std::to_string(wn::kMaxChannels);
                const py::list ls = a["layers"].cast<py::list>();
                int head_in = s.bottleneck;
                for (const auto& item : ls) {
                    const py::dict d = item.cast<py::dict>();
                    wn::LayerSpec y;
                    y.kernel_size = d["kernel_size"].cast<int>();
                    y.dilation = d["dilation"].cast<int>();
                    y.gated = d["gated"].cast<bool>();
                    y.blended = d.contains("blended") && d["blended"].cast<bool>();
                    if (y.blended && !y.gated) return "layer array " + std::to_string(k) + ": a blended layer has 2 B rows (gated)";
                    if (y.kernel_size < 1 || y.kernel_size > 1024)
                        return "layer array " + std::to_string(k) + ": kernel_size must be 1..1024";
                    const py::ssize_t z = (y.gated ? 2 : 1) * s.bottleneck, c = s.channels, b = s.bottleneck;
                    y.act = act(d, "act", keep, s.bottleneck);
                    if (y.gated) y.gate = act(d, "gate", keep, s.bottleneck);
                    y.conv_w = keep.get(d, "conv_w", z * c * y.kernel_size);
                    y.conv_b = keep.get(d, "conv_b", z);
                    y.mixin_w = keep.get(d, "mixin_w", z * s.cond_size);
                    y.l1_w = keep.get(d, "l1_w", c * b);
                    y.l1_b = keep.get(d, "l1_b", c);
                    y.head1x1_out = d.contains("head1x1_out") ? d["head1x1_out"].cast<int>() : 0;
                    if (y.head1x1_out < 0 || y.head1x1_out > wn::kMaxChannels)
                        return "layer array " + std::to_string(k) + ": head1x1_out out of range";
                    if (y.head1x1_out > 0) {
                        y.h1_w = keep.get(d, "h1_w", y.head1x1_out * b);
                        y.h1_b = keep.get(d, "h1_b", y.head1x1_out);
                        head_in = y.head1x1_out;
                    }
                    const int zi = static_cast<int>(z);
                    const int dims[wn::n_film] = {s.channels, zi, s.cond_size, zi, zi, s.bottleneck, s.channels, y.head1x1_out};
                    films(d, keep, y, dims, s.cond_size);
                    layers[k].push_back(y);
                }
                s.layers = layers[k].data();
                s.n_layers = static_cast<int>(layers[k].size());
                s.rechannel = keep.get(a, "rechannel", static_cast<py::ssize_t>(s.channels) * s.input_size);
                s.head_w = keep.get(a, "head_w", static_cast<py::ssize_t>(s.head_size) * head_in * s.head_kernel);
                s.head_b = keep.get(a, "head_b", s.head_size);
            }
            if (!head.is_none()) post_head(head.cast<py::dict>(), keep, head_convs, head_spec);
        } catch (const py::cast_error& e) {
            return std::string("malformed layer description: ") + e.what();
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        const vashrink::Status st = model.load(specs.data(), static_cast<int>(specs.size()), head_scale, std::move(cond),
                                               head.is_none() ? nullptr : &head_spec);
        return st.ok ? std::string() : st.message;
}

class PyWaveNet {
public:
    /// Load; returns "" on success or what was wrong (the model is then empty).
    std::string load(const py::list& arrays, float head_scale, const py::object& condition, const py::object& head) {
        std::lock_guard<std::mutex> lock(mutex_);
        model_.clear();
        std::string e = build(model_, arrays, head_scale, condition, head);
        if (e.empty() && model_.out_size() != 1) e = "the model must have one output channel";
        if (!e.empty()) model_.clear();
        return e;
    }

    void reset() {
        std::lock_guard<std::mutex> lock(mutex_);
        model_.reset();
    }

    float forward(float x) {
        std::lock_guard<std::mutex> lock(mutex_);
        check();
        return model_.forward(x);
    }

    Array process_samples(const Array& x) {
        check();
        if (x.ndim() != 1) throw std::invalid_argument("input must have shape (n_samples,)");
        const int n = static_cast<int>(x.shape(0));
        Array y(n);
        float* out = y.mutable_data();
        const float* in = x.data();
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        model_.process(in, out, n);
        return y;
    }

    /// Seconds per repeat over `buffer`: block_size 0 calls forward per sample, else process()
    /// with that many samples per call. The state is reset before the first pass and after.
    std::vector<double> time(const Array& buffer, int block_size, int repeats, int warmup) {
        check();
        if (repeats < 1) throw std::invalid_argument("repeats must be at least 1");
        if (warmup < 0) throw std::invalid_argument("warmup must be at least 0");
        if (buffer.ndim() != 1) throw std::invalid_argument("buffer must have shape (n_samples,)");
        const int n = static_cast<int>(buffer.shape(0));
        std::vector<float> out(static_cast<std::size_t>(n));
        std::vector<double> seconds;
        seconds.reserve(static_cast<std::size_t>(repeats));
        const float* in = buffer.data();
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        model_.reset();
        for (int r = -warmup; r < repeats; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            if (block_size == 0) {
                for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = model_.forward(in[i]);
            } else {
                for (int off = 0; off < n; off += block_size)
                    model_.process(in + off, out.data() + off, std::min(block_size, n - off));
            }
            const auto t1 = std::chrono::steady_clock::now();
            if (r >= 0) seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
        }
        model_.reset();
        return seconds;
    }

    int receptive_field() const { return model_.receptive_field(); }
    int n_layers() const { return model_.n_layers(); }
    bool loaded() const { return model_.loaded(); }

private:
    void check() const {
        if (!model_.loaded()) throw std::invalid_argument("no model is loaded");
    }

    wn::WaveNet model_;
    mutable std::mutex mutex_;
};

}  // namespace

void register_wavenet(py::module_& m) {
    py::class_<PyWaveNet>(m, "WaveNetF32")
        .def(py::init<>())
        .def("load", &PyWaveNet::load, py::arg("arrays"), py::arg("head_scale"), py::arg("condition") = py::none(),
             py::arg("head") = py::none())
        .def("reset", &PyWaveNet::reset)
        .def("forward", &PyWaveNet::forward, py::arg("x"))
        .def("process_samples", &PyWaveNet::process_samples, py::arg("x"))
        .def("time_samples",
             [](PyWaveNet& self, const Array& buffer, int repeats, int warmup) {
                 return self.time(buffer, 0, repeats, warmup);
             },
             py::arg("buffer"), py::arg("repeats"), py::arg("warmup"))
        .def("time_blocks",
             [](PyWaveNet& self, const Array& buffer, int block_size, int repeats, int warmup) {
                 if (block_size < 1) throw std::invalid_argument("block_size must be at least 1");
                 return self.time(buffer, block_size, repeats, warmup);
             },
             py::arg("buffer"), py::arg("block_size"), py::arg("repeats"), py::arg("warmup"))
        .def_property_readonly("receptive_field", &PyWaveNet::receptive_field)
        .def_property_readonly("n_layers", &PyWaveNet::n_layers)
        .def_property_readonly("loaded", &PyWaveNet::loaded)
        .def_property_readonly("in_size", [](const PyWaveNet&) { return 1; })
        .def_property_readonly("out_size", [](const PyWaveNet&) { return 1; })
        .def_property_readonly_static("lanes", [](py::object) { return vashrink::simd::lanes_v<float>; });
}
