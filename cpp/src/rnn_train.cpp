// Bindings for the native GRU/LSTM trainer (rnn_grad.h, adam.h): a model with its flat
// parameters, carried state, forward, loss and gradient over a chunk, and Adam. Shapes are
// checked here (std::invalid_argument -> ValueError); the GIL is released around the compute.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "py_layers.h"
#include "vashrink/adam.h"
#include "vashrink/rnn_grad.h"

namespace py = pybind11;

namespace {

using vashrink_py::Array;

std::string shape_of(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t k = 0; k < a.ndim(); ++k) s += (k ? ", " : "") + std::to_string(a.shape(k));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

template <typename T>
class PyRnnTrainer {
public:
    PyRnnTrainer(const std::string& cell, int hidden, int layers, bool skip, int max_batch,
                 int max_steps, int tile_regs, int segment_steps) {
        vashrink::Cell c;
        if (cell == "gru") {
            c = vashrink::Cell::gru;
        } else if (cell == "lstm") {
            c = vashrink::Cell::lstm;
        } else {
            throw std::invalid_argument("unknown cell '" + cell + "' (use gru or lstm)");
        }
        const vashrink::Status st = net_.init(c, hidden, layers, skip, max_batch, max_steps, tile_regs,
                                               segment_steps);
        if (!st.ok) throw std::invalid_argument(st.message);
        const vashrink::Status sa = adam_.init(net_.n_params());
        if (!sa.ok) throw std::invalid_argument(sa.message);
    }

    std::size_t n_params() const { return net_.n_params(); }

    Array<T> params() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return copy(net_.params(), net_.n_params());
    }

    void set_params(const Array<T>& p) {
        std::lock_guard<std::mutex> lock(mutex_);
        check_flat(p, "params");
        std::copy_n(p.data(), net_.n_params(), net_.params());
    }

    Array<T> grad() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return copy(net_.grad(), net_.n_params());
    }

    void set_grad(const Array<T>& g) {
        std::lock_guard<std::mutex> lock(mutex_);
        check_flat(g, "grad");
        std::copy_n(g.data(), net_.n_params(), net_.grad());
    }

    void reset_state(int batch) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!net_.reset_state(batch))
            throw std::invalid_argument("batch must be 1.." + std::to_string(net_.max_batch()) +
                                        " (the max_batch given at construction), got " +
                                        std::to_string(batch));
    }

    void set_state(const Array<T>& h, const std::optional<Array<T>>& c) {
        std::lock_guard<std::mutex> lock(mutex_);
        const bool lstm = net_.cell() == vashrink::Cell::lstm;
        if (lstm != c.has_value())
            throw std::invalid_argument(lstm ? "an LSTM state needs c as well as h"
                                             : "a GRU state has no c: pass None");
        const py::ssize_t batch = h.ndim() == 3 ? h.shape(1) : 0;
        const auto ok = [&](const Array<T>& a) {
            return a.ndim() == 3 && a.shape(0) == net_.layers() && a.shape(1) == batch &&
                   a.shape(2) == net_.hidden();
        };
        if (!ok(h) || (c && !ok(*c)) || batch < 1 || batch > net_.max_batch())
            throw std::invalid_argument(
                "state must have shape (layers=" + std::to_string(net_.layers()) + ", batch<=" +
                std::to_string(net_.max_batch()) + ", hidden=" + std::to_string(net_.hidden()) +
                "), got " + shape_of(h));
        net_.set_state(static_cast<int>(batch), h.data(), c ? c->data() : nullptr);
    }

    std::tuple<Array<T>, std::optional<Array<T>>> state() const {
        std::lock_guard<std::mutex> lock(mutex_);
        const py::ssize_t shape[3] = {net_.layers(), net_.batch(), net_.hidden()};
        Array<T> h(std::vector<py::ssize_t>(shape, shape + 3));
        std::optional<Array<T>> c;
        if (net_.cell() == vashrink::Cell::lstm) c = Array<T>(std::vector<py::ssize_t>(shape, shape + 3));
        net_.get_state(h.mutable_data(), c ? c->mutable_data() : nullptr);
        return {h, c};
    }

    Array<T> forward(const Array<T>& x) {
        const py::ssize_t steps = check_rows(x, "x", false);
        Array<T> y({x.shape(0), x.shape(1)});
        T* out = y.mutable_data();
        const T* in = x.data();
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        net_.forward(in, static_cast<std::size_t>(steps), static_cast<int>(steps), out,
                     static_cast<std::size_t>(steps));
        return y;
    }

    std::tuple<double, double, double, Array<T>> loss_and_grad(
        const Array<T>& x, const Array<T>& y, const std::optional<Array<T>>& prev_y,
        const std::optional<Array<T>>& prev_hat, double coefficient, double dc_weight) {
        const py::ssize_t steps = check_rows(x, "x", true);
        if (y.ndim() != 2 || y.shape(0) != x.shape(0) || y.shape(1) != steps)
            throw std::invalid_argument("y must have the shape of x " + shape_of(x) + ", got " +
                                        shape_of(y));
        for (const auto* p : {&prev_y, &prev_hat})
            if (*p && ((*p)->ndim() != 1 || (*p)->shape(0) != x.shape(0)))
                throw std::invalid_argument("previous samples must have shape (" +
                                            std::to_string(x.shape(0)) + ",), got " +
                                            shape_of(**p));
        if (!(coefficient >= 0.0 && coefficient < 1.0) || !(dc_weight >= 0.0 && dc_weight <= 1.0))
            throw std::invalid_argument("coefficient must be in [0, 1) and dc_weight in [0, 1]");
        Array<T> y_hat({x.shape(0), x.shape(1)});
        T* out = y_hat.mutable_data();
        const T* xp = x.data();
        const T* yp = y.data();
        const T* py_ = prev_y ? prev_y->data() : nullptr;
        const T* ph = prev_hat ? prev_hat->data() : nullptr;
        vashrink::ChunkLoss loss;
        {
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(mutex_);
            const std::size_t stride = static_cast<std::size_t>(steps);
            net_.loss_and_grad(xp, yp, stride, static_cast<int>(steps), py_, ph, coefficient,
                               dc_weight, loss, out, stride);
        }
        return {loss.loss, loss.err, loss.sig, y_hat};
    }

    double adam_step(double lr, std::optional<double> max_grad_norm, double beta1, double beta2,
                     double eps) {
        if (!(lr > 0.0) || (max_grad_norm && !(*max_grad_norm > 0.0)))
            throw std::invalid_argument("lr and max_grad_norm must be > 0");
        std::lock_guard<std::mutex> lock(mutex_);
        return adam_.step(net_.params(), net_.grad(), lr, max_grad_norm ? *max_grad_norm : 0.0,
                          beta1, beta2, eps);
    }

    void adam_reset() {
        std::lock_guard<std::mutex> lock(mutex_);
        adam_.reset();
    }

    std::string cell() const { return vashrink::cell_name(net_.cell()); }
    int hidden() const { return net_.hidden(); }
    int layers() const { return net_.layers(); }
    bool skip() const { return net_.skip(); }
    int max_batch() const { return net_.max_batch(); }
    int max_steps() const { return net_.max_steps(); }
    int batch() const { return net_.batch(); }
    int tile_rows() const { return net_.tile_rows(); }
    int segment_steps() const { return net_.segment_steps(); }
    long adam_steps() const { return adam_.steps(); }

private:
    static Array<T> copy(const T* p, std::size_t n) {
        Array<T> out(static_cast<py::ssize_t>(n));
        std::copy_n(p, n, out.mutable_data());
        return out;
    }

    void check_flat(const Array<T>& p, const char* what) const {
        if (p.ndim() != 1 || static_cast<std::size_t>(p.shape(0)) != net_.n_params())
            throw std::invalid_argument(std::string(what) + " must have shape (" +
                                        std::to_string(net_.n_params()) + ",), got " + shape_of(p));
    }

    /// Steps of x [batch, steps], which must match the batch of the current state.
    py::ssize_t check_rows(const Array<T>& x, const char* what, bool chunk) const {
        if (net_.batch() < 1)
            throw std::invalid_argument("no state: call reset_state(batch) or set_state first");
        if (x.ndim() != 2 || x.shape(0) != net_.batch())
            throw std::invalid_argument(std::string(what) + " must have shape (batch=" +
                                        std::to_string(net_.batch()) + ", steps), got " +
                                        shape_of(x));
        if (x.shape(1) < (chunk ? 1 : 0) || (chunk && x.shape(1) > net_.max_steps()))
            throw std::invalid_argument(std::string(what) + " must have 1.." +
                                        std::to_string(net_.max_steps()) + " steps (max_steps), got " +
                                        std::to_string(x.shape(1)));
        return x.shape(1);
    }

    vashrink::RnnGrad<T> net_;
    vashrink::Adam<T> adam_;
    mutable std::mutex mutex_;
};

template <typename T>
void bind_trainer(py::module_& m, const char* name) {
    using C = PyRnnTrainer<T>;
    py::class_<C>(m, name)
        .def(py::init<const std::string&, int, int, bool, int, int, int, int>(), py::arg("cell"),
             py::arg("hidden"), py::arg("layers"), py::arg("skip"), py::arg("max_batch"),
             py::arg("max_steps"), py::arg("tile_regs") = 0, py::arg("segment_steps") = 0)
        .def_property_readonly("n_params", &C::n_params)
        .def("params", &C::params)
        .def("set_params", &C::set_params, py::arg("params"))
        .def("grad", &C::grad)
        .def("set_grad", &C::set_grad, py::arg("grad"))
        .def("reset_state", &C::reset_state, py::arg("batch"))
        .def("set_state", &C::set_state, py::arg("h"), py::arg("c"))
        .def("state", &C::state)
        .def("forward", &C::forward, py::arg("x"))
        .def("loss_and_grad", &C::loss_and_grad, py::arg("x"), py::arg("y"), py::arg("prev_y"),
             py::arg("prev_hat"), py::arg("coefficient"), py::arg("dc_weight"))
        .def("adam_step", &C::adam_step, py::arg("lr"), py::arg("max_grad_norm"),
             py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8)
        .def("adam_reset", &C::adam_reset)
        .def_property_readonly("cell", &C::cell)
        .def_property_readonly("hidden", &C::hidden)
        .def_property_readonly("layers", &C::layers)
        .def_property_readonly("skip", &C::skip)
        .def_property_readonly("max_batch", &C::max_batch)
        .def_property_readonly("max_steps", &C::max_steps)
        .def_property_readonly("batch", &C::batch)
        .def_property_readonly("tile_rows", &C::tile_rows)
        .def_property_readonly("segment_steps", &C::segment_steps)
        .def_property_readonly("adam_steps", &C::adam_steps);
}

}  // namespace

void register_rnn_train(py::module_& m) {
    bind_trainer<float>(m, "RnnTrainerF32");
    bind_trainer<double>(m, "RnnTrainerF64");
}
