#pragma once
// The whole engine: run-time Model<T> and compile-time ModelT<T, Layers...> (DenseT layers,
// optionally after a run of GruLayerT / LstmLayerT; SkipModelT adds the input to the output).

#include "vashrink/config.h"
#include "vashrink/activation.h"
#include "vashrink/cpu.h"
#include "vashrink/dense.h"
#include "vashrink/gru.h"
#include "vashrink/lstm.h"
#include "vashrink/model.h"
#include "vashrink/model_t.h"
#include "vashrink/recurrent.h"
#include "vashrink/recurrent_stack.h"
#include "vashrink/simd.h"
#include "vashrink/storage.h"
#include "vashrink/vec.h"
#include "vashrink/vmath.h"
