#pragma once
// GRU/LSTM checks of engine_test.cpp (included after engine_test_support.h and check_empty):
// the run-time Model<T> against a plain double reference of torch's gate maths, bit-identical
// to the compile-time ModelT / SkipModelT, reset(), non-finite inputs, and bad recurrent models
// at load (refused with a status, the model left empty and safe to call, loadable again).

#include <memory>

namespace {

/// Torch-layout weights of a recurrent layer + Dense(H -> 1, tanh? no: linear).
template <typename T>
struct RecurrentNet {
    vashrink::Cell cell;
    int hidden;
    std::vector<T> w_ih, w_hh, b_ih, b_hh, w_d, b_d;
    vashrink::RecurrentSpec<T> spec() const {
        return {cell, 1, hidden, w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()};
    }
    vashrink::LayerSpec<T> dense() const { return {hidden, 1, Activation::none, w_d.data(), b_d.data(), nullptr}; }
};

template <typename T>
RecurrentNet<T> make_recurrent(vashrink::Cell cell, int hidden, unsigned seed) {
    RecurrentNet<T> n{cell, hidden, {}, {}, {}, {}, {}, {}};
    const std::size_t rows = static_cast<std::size_t>(vashrink::gate_count(cell)) * hidden;
    std::mt19937 rng(seed);
    const double k = 1.0 / std::sqrt(double(hidden));
    std::uniform_real_distribution<double> u(-k, k);
    const auto fill = [&](std::vector<T>& v, std::size_t size) {
        v.resize(size);
        for (T& x : v) x = static_cast<T>(u(rng));
    };
    fill(n.w_ih, rows);
    fill(n.w_hh, rows * hidden);
    fill(n.b_ih, rows);
    fill(n.b_hh, rows);
    fill(n.w_d, hidden);
    fill(n.b_d, 1);
    return n;
}

/// torch's GRU/LSTM step and the linear head in double, over the whole sequence.
template <typename T>
std::vector<double> recurrent_reference(const RecurrentNet<T>& n, const std::vector<T>& x, bool skip) {
    const int h = n.hidden;
    std::vector<double> hs(h, 0.0), cs(h, 0.0), next(h), y;
    const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    const auto row = [&](const std::vector<T>& w, int r, const std::vector<double>& v) {
        double s = 0;
        for (int k = 0; k < h; ++k) s += double(w[static_cast<std::size_t>(r) * h + k]) * v[k];
        return s;
    };
    for (T xv : x) {
        for (int j = 0; j < h; ++j) {
            if (n.cell == vashrink::Cell::gru) {
                const double r = sig(n.w_ih[j] * double(xv) + n.b_ih[j] + row(n.w_hh, j, hs) + n.b_hh[j]);
                const double z = sig(n.w_ih[h + j] * double(xv) + n.b_ih[h + j] + row(n.w_hh, h + j, hs) + n.b_hh[h + j]);
                const double nn = std::tanh(n.w_ih[2 * h + j] * double(xv) + n.b_ih[2 * h + j] +
                                            r * (row(n.w_hh, 2 * h + j, hs) + n.b_hh[2 * h + j]));
                next[j] = (1 - z) * nn + z * hs[j];
            } else {
                double a[4];
                for (int g = 0; g < 4; ++g)
                    a[g] = n.w_ih[g * h + j] * double(xv) + n.b_ih[g * h + j] + n.b_hh[g * h + j] + row(n.w_hh, g * h + j, hs);
                cs[j] = sig(a[1]) * cs[j] + sig(a[0]) * std::tanh(a[2]);
                next[j] = sig(a[3]) * std::tanh(cs[j]);
            }
        }
        hs = next;
        double out = n.b_d[0] + (skip ? double(xv) : 0.0);
        for (int k = 0; k < h; ++k) out += double(n.w_d[k]) * hs[k];
        y.push_back(out);
    }
    return y;
}

template <typename T, vashrink::Cell C, int H, bool Skip>
void check_recurrent_shape(unsigned seed) {
    using Rnn = std::conditional_t<C == vashrink::Cell::gru, vashrink::GruLayerT<T, 1, H>, vashrink::LstmLayerT<T, 1, H>>;
    using Ct = vashrink::BasicModelT<T, Skip, Rnn, DenseT<T, H, 1>>;
    g_context = std::string(sizeof(T) == 4 ? "float " : "double ") + vashrink::cell_name(C) + "-" +
                std::to_string(H) + (Skip ? "+skip" : "");
    const RecurrentNet<T> n = make_recurrent<T>(C, H, seed);
    vashrink::Model<T> rt;
    const vashrink::LayerSpec<T> d = n.dense();
    CHECK(rt.load(n.spec(), &d, 1, Skip).ok);
    CHECK(rt.loaded() && rt.is_recurrent() && rt.cell() == C && rt.hidden_size() == H &&
          rt.n_layers() == 2 && rt.input_skip() == Skip && rt.in_size() == 1 && rt.out_size() == 1);
    auto ct = std::make_unique<Ct>();
    static_assert(Ct::stateful && Ct::input_skip == Skip, "model traits");
    CHECK(ct->template layer<0>().load(n.w_ih.data(), n.w_hh.data(), n.b_ih.data(), n.b_hh.data()));
    CHECK(ct->template layer<1>().load(n.w_d.data(), n.b_d.data()));
    const std::vector<T> x = inputs<T>(1, seed + 1);
    const std::vector<double> ref = recurrent_reference(n, x, Skip);
    std::vector<T> a(x.size()), b(x.size()), c(x.size());
    rt.process(x.data(), a.data(), static_cast<int>(x.size()));
    ct->process(x.data(), b.data(), static_cast<int>(x.size()));
    const double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
    for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(same(a[i], b[i]));  // run-time and compile-time: the same code, the same bits
        CHECK_NEAR(a[i], ref[i], tol);
    }
    // reset() restores the zero state; block mode is the per-sample loop; forward(T) agrees.
    rt.reset();
    ct->reset();
    rt.process_block(x.data(), c.data(), static_cast<int>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(c[i], a[i]));
    ct->process_block(x.data(), c.data(), static_cast<int>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(c[i], a[i]));
    rt.reset();
    for (std::size_t i = 0; i < 20; ++i) CHECK(same(rt.forward(x[i]), a[i]));
    // A NaN input poisons the state until reset.
    rt.reset();
    std::vector<T> xn = x;
    xn[5] = kNaN<T>;
    rt.process(xn.data(), c.data(), static_cast<int>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(i < 5 ? same(c[i], a[i]) : std::isnan(c[i]));
    rt.reset();
    rt.process(x.data(), c.data(), static_cast<int>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(c[i], a[i]));
}

template <typename T>
void check_recurrent() {
    check_recurrent_shape<T, vashrink::Cell::gru, 1, false>(1);
    check_recurrent_shape<T, vashrink::Cell::gru, 3, true>(2);
    check_recurrent_shape<T, vashrink::Cell::gru, 13, false>(3);
    check_recurrent_shape<T, vashrink::Cell::gru, 16, true>(4);
    check_recurrent_shape<T, vashrink::Cell::lstm, 1, true>(5);
    check_recurrent_shape<T, vashrink::Cell::lstm, 5, false>(6);
    check_recurrent_shape<T, vashrink::Cell::lstm, 17, true>(7);
}

template <typename T>
void check_recurrent_load_failures() {
    g_context = sizeof(T) == 4 ? "float recurrent load failures" : "double recurrent load failures";
    const RecurrentNet<T> good = make_recurrent<T>(vashrink::Cell::gru, 6, 11);
    const vashrink::LayerSpec<T> d = good.dense();
    vashrink::Model<T> m;
    const auto refused = [&](const vashrink::RecurrentSpec<T>& s, const vashrink::LayerSpec<T>* dense,
                             std::size_t n_dense, bool skip) {
        CHECK(m.load(good.spec(), &d, 1).ok);  // a good model first: failure must empty it
        const vashrink::Status st = m.load(s, dense, n_dense, skip);
        CHECK(!st.ok && !st.message.empty());
        check_empty(m);
        CHECK(!m.is_recurrent() && m.hidden_size() == 0);
    };
    vashrink::RecurrentSpec<T> s = good.spec();
    s.cell = static_cast<vashrink::Cell>(7);
    refused(s, &d, 1, false);
    s = good.spec();
    s.hidden_size = 0;
    refused(s, &d, 1, false);
    s = good.spec();
    s.in_size = -1;
    refused(s, &d, 1, false);
    s = good.spec();
    s.bias_hh = nullptr;  // required for a GRU
    refused(s, &d, 1, false);
    s = good.spec();
    s.weight_hh = nullptr;
    refused(s, &d, 1, false);
    std::vector<T> nan_w = good.w_hh;
    nan_w[7] = kNaN<T>;
    s = good.spec();
    s.weight_hh = nan_w.data();
    refused(s, &d, 1, false);
    std::vector<T> inf_b = good.b_ih;
    inf_b[2] = kInf<T>;
    s = good.spec();
    s.bias_ih = inf_b.data();
    refused(s, &d, 1, false);
    refused(good.spec(), nullptr, 0, false);  // no dense layer
    vashrink::LayerSpec<T> wrong_in = d;
    wrong_in.in_size = 5;  // the GRU gives 6
    refused(good.spec(), &wrong_in, 1, false);
    const std::vector<T> w2(12, T(0.1)), b2(2, T(0));
    const vashrink::LayerSpec<T> two_out{6, 2, Activation::none, w2.data(), b2.data(), nullptr};
    refused(good.spec(), &two_out, 1, true);  // skip needs one output
    vashrink::LayerSpec<T> bad_act = d;
    bad_act.activation = static_cast<Activation>(42);
    refused(good.spec(), &bad_act, 1, false);
    CHECK(m.load(good.spec(), &d, 1).ok);  // and it loads again
    CHECK(m.loaded() && m.hidden_size() == 6);
    // Compile-time layers refuse the same, zeroed (outputs stay finite zeros of the state).
    vashrink::GruLayerT<T, 1, 6> g;
    CHECK(!g.load(good.w_ih.data(), nan_w.data(), good.b_ih.data(), good.b_hh.data()));
    CHECK(!g.load(good.w_ih.data(), good.w_hh.data(), good.b_ih.data(), nullptr));
    const T one = 1;
    const T* h = g.forward(&one);
    for (int i = 0; i < 6; ++i) CHECK(h[i] == 0);
    vashrink::LstmLayerT<T, 1, 2> l;
    CHECK(!l.load(nullptr, good.w_hh.data(), good.b_ih.data()));
}

}  // namespace
