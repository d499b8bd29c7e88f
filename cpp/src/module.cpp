// The private compiled module vashrink._engine: one register_* function per bound area.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_info(py::module_& m);
void register_mlp(py::module_& m);
void register_recurrent(py::module_& m);
void register_rtneural(py::module_& m);
void register_rnn_train(py::module_& m);
void register_wavenet(py::module_& m);

PYBIND11_MODULE(_engine, m) {
    m.doc() = "vashrink's C++ engine (private: use the vashrink package)";
    register_info(m);
    register_mlp(m);
    register_recurrent(m);
    register_rtneural(m);
    register_rnn_train(m);
    register_wavenet(m);
}
