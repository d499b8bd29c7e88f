#pragma once
// The whole engine: run-time Model<T> and compile-time ModelT<T, DenseT<...>...>.

#include "vashrink/config.h"
#include "vashrink/activation.h"
#include "vashrink/cpu.h"
#include "vashrink/dense.h"
#include "vashrink/model.h"
#include "vashrink/model_t.h"
#include "vashrink/simd.h"
#include "vashrink/vec.h"
#include "vashrink/vmath.h"
