// Compiles and runs with any VASHRINK_NAMESPACE: the default, a plugin's own name (then
// `vashrink::` is an alias of it, as generated headers need), a plugin's own name with
// VASHRINK_NO_NAMESPACE_ALIAS (then the name `vashrink` stays free), or `vashrink` spelled out.
// tests/native/test_native.py builds each, and once through CMake's vashrink::engine target.
#include <cstdio>
#include <type_traits>

#include "vashrink/vashrink.h"

#define VASHRINK_TEST_STR2(x) #x
#define VASHRINK_TEST_STR(x) VASHRINK_TEST_STR2(x)

#if defined(VASHRINK_NO_NAMESPACE_ALIAS)
namespace eng = VASHRINK_NAMESPACE;
namespace vashrink {  // would not compile if `vashrink` were an alias
inline int free_name = 1;
}
#else
namespace eng = vashrink;  // the namespace itself, or the alias of VASHRINK_NAMESPACE
#endif

// What a generated header (python/vashrink/export/cpp.py) emits, spelled through `eng`.
using Model = eng::ModelT<float, eng::DenseT<float, 1, 3, eng::Activation::tanh>,
                          eng::DenseT<float, 3, 1, eng::Activation::none>>;
static_assert(std::is_same_v<Model, VASHRINK_NAMESPACE::ModelT<float,
    VASHRINK_NAMESPACE::DenseT<float, 1, 3, VASHRINK_NAMESPACE::Activation::tanh>,
    VASHRINK_NAMESPACE::DenseT<float, 3, 1, VASHRINK_NAMESPACE::Activation::none>>>);

int main() {
    static Model model;
    const float w0[3] = {1, -1, 0.5f}, b0[3] = {0, 0, 0}, w1[3] = {1, 1, 1}, b1[1] = {0.25f};
    if (!model.layer<0>().load(w0, b0) || !model.layer<1>().load(w1, b1)) return 2;
    const float y = model.forward(0.0f);  // tanh(0) = 0 everywhere: the bias
    std::printf("namespace %s: y = %g\n", VASHRINK_TEST_STR(VASHRINK_NAMESPACE), double(y));
    return y == 0.25f ? 0 : 1;
}
