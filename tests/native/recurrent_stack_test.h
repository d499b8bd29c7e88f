#pragma once
// Stacked GRU/LSTM checks of engine_test.cpp (included after recurrent_test.h): a run-time
// Model<T> loaded with several recurrent layers equals the compile-time ModelT / SkipModelT with
// the same layers bit for bit, both are close to a plain double reference of torch's maths,
// reset() zeroes every layer, and bad stacks are refused with a message naming the layer.

namespace {

/// One torch-layout recurrent layer of a stack (bias_hh always given, as torch stores it).
template <typename T>
struct StackLayer {
    vashrink::Cell cell;
    int in, hidden;
    std::vector<T> w_ih, w_hh, b_ih, b_hh;
    vashrink::RecurrentSpec<T> spec() const {
        return {cell, in, hidden, w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()};
    }
};

/// Layers chained 1 -> hidden[0] -> hidden[1] ... then Dense(hidden.back() -> 1).
template <typename T>
struct StackNet {
    std::vector<StackLayer<T>> layers;
    std::vector<T> w_d, b_d;
    std::vector<vashrink::RecurrentSpec<T>> specs() const {
        std::vector<vashrink::RecurrentSpec<T>> out;
        for (const auto& l : layers) out.push_back(l.spec());
        return out;
    }
    vashrink::LayerSpec<T> dense() const {
        return {layers.back().hidden, 1, Activation::none, w_d.data(), b_d.data(), nullptr};
    }
};

template <typename T>
StackNet<T> make_stack(const std::vector<std::pair<vashrink::Cell, int>>& shape, unsigned seed) {
    StackNet<T> n;
    std::mt19937 rng(seed);
    int in = 1;
    for (const auto& [cell, hidden] : shape) {
        const std::size_t rows = static_cast<std::size_t>(vashrink::gate_count(cell)) * hidden;
        std::uniform_real_distribution<double> u(-1 / std::sqrt(double(hidden)), 1 / std::sqrt(double(hidden)));
        const auto fill = [&](std::size_t size) {
            std::vector<T> v(size);
            for (T& x : v) x = static_cast<T>(u(rng));
            return v;
        };
        n.layers.push_back({cell, in, hidden, fill(rows * in), fill(rows * hidden), fill(rows), fill(rows)});
        in = hidden;
    }
    std::uniform_real_distribution<double> u(-0.5, 0.5);
    for (int k = 0; k < in; ++k) n.w_d.push_back(static_cast<T>(u(rng)));
    n.b_d.push_back(static_cast<T>(u(rng)));
    return n;
}

/// torch's step of one layer in double: state h (and c) advanced by input x.
template <typename T>
void reference_step(const StackLayer<T>& l, const std::vector<double>& x, std::vector<double>& h,
                    std::vector<double>& c) {
    const int H = l.hidden;
    const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    const auto gate = [&](int r, bool with_hh_bias_apart) {  // W_ih x + b_ih (+ W_hh h + b_hh)
        double s = l.b_ih[r];
        for (int i = 0; i < l.in; ++i) s += double(l.w_ih[std::size_t(r) * l.in + i]) * x[i];
        if (with_hh_bias_apart) return s;
        s += l.b_hh[r];
        for (int k = 0; k < H; ++k) s += double(l.w_hh[std::size_t(r) * H + k]) * h[k];
        return s;
    };
    std::vector<double> next(H);
    for (int j = 0; j < H; ++j) {
        if (l.cell == vashrink::Cell::gru) {
            const double r = sig(gate(j, false)), z = sig(gate(H + j, false));
            double hn = l.b_hh[2 * H + j];
            for (int k = 0; k < H; ++k) hn += double(l.w_hh[std::size_t(2 * H + j) * H + k]) * h[k];
            const double n = std::tanh(gate(2 * H + j, true) + r * hn);
            next[j] = (1 - z) * n + z * h[j];
        } else {
            c[j] = sig(gate(H + j, false)) * c[j] + sig(gate(j, false)) * std::tanh(gate(2 * H + j, false));
            next[j] = sig(gate(3 * H + j, false)) * std::tanh(c[j]);
        }
    }
    h = next;
}

template <typename T>
std::vector<double> stack_reference(const StackNet<T>& n, const std::vector<T>& x, bool skip) {
    std::vector<std::vector<double>> h, c;
    for (const auto& l : n.layers) {
        h.emplace_back(l.hidden, 0.0);
        c.emplace_back(l.hidden, 0.0);
    }
    std::vector<double> y;
    for (T xv : x) {
        std::vector<double> a{double(xv)};
        for (std::size_t k = 0; k < n.layers.size(); ++k) {
            reference_step(n.layers[k], a, h[k], c[k]);
            a = h[k];
        }
        double out = n.b_d[0] + (skip ? double(xv) : 0.0);
        for (std::size_t k = 0; k < a.size(); ++k) out += double(n.w_d[k]) * a[k];
        y.push_back(out);
    }
    return y;
}

template <typename L, typename T>
bool load_rnn(L& layer, const StackLayer<T>& l) {
    return layer.load(l.w_ih.data(), l.w_hh.data(), l.b_ih.data(), l.b_hh.data());
}

/// Run-time stack vs compile-time Ct (layers 0 .. n-1 recurrent, then the dense head).
template <typename T, bool Skip, typename Ct, std::size_t... I>
void check_stack_shape(const std::vector<std::pair<vashrink::Cell, int>>& shape, unsigned seed,
                       std::index_sequence<I...>) {
    g_context = std::string(sizeof(T) == 4 ? "float" : "double") + " stack";
    for (const auto& [cell, h] : shape) g_context += std::string(" ") + vashrink::cell_name(cell) + "-" + std::to_string(h);
    g_context += Skip ? " +skip" : "";
    const StackNet<T> n = make_stack<T>(shape, seed);
    const auto specs = n.specs();
    const vashrink::LayerSpec<T> d = n.dense();
    vashrink::Model<T> rt;
    CHECK(rt.load(specs.data(), specs.size(), &d, 1, Skip).ok);
    CHECK(rt.n_recurrent() == int(shape.size()) && rt.n_layers() == int(shape.size()) + 1 &&
          rt.hidden_size() == shape.back().second && rt.input_skip() == Skip);
    for (std::size_t k = 0; k < shape.size(); ++k)
        CHECK(rt.cell(int(k)) == shape[k].first && rt.hidden_size(int(k)) == shape[k].second);
    CHECK(rt.cell(int(shape.size())) == vashrink::Cell{} && rt.hidden_size(-1) == 0);
    auto ct = std::make_unique<Ct>();
    static_assert(Ct::stateful && Ct::n_stateful == sizeof...(I), "model traits");
    CHECK((load_rnn(ct->template layer<I>(), n.layers[I]) && ...));
    CHECK(ct->template layer<sizeof...(I)>().load(n.w_d.data(), n.b_d.data()));
    const std::vector<T> x = inputs<T>(1, seed + 1);
    const std::vector<double> ref = stack_reference(n, x, Skip);
    const int len = static_cast<int>(x.size());
    std::vector<T> a(x.size()), b(x.size()), c(x.size());
    rt.process(x.data(), a.data(), len);
    ct->process(x.data(), b.data(), len);
    const double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
    for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(same(a[i], b[i]));
        CHECK_NEAR(a[i], ref[i], tol);
    }
    // reset() zeroes every layer (after a different stream), in both models.
    std::vector<T> other(x.rbegin(), x.rend());
    rt.process(other.data(), c.data(), len);
    ct->process(other.data(), c.data(), len);
    rt.reset();
    ct->reset();
    rt.process_block(x.data(), c.data(), len);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(c[i], a[i]));
    ct->process_block(x.data(), c.data(), len);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(c[i], a[i]));
}

template <typename T>
void check_stacks() {
    using vashrink::Cell;
    using vashrink::GruLayerT;
    using vashrink::LstmLayerT;
    check_stack_shape<T, false, vashrink::ModelT<T, GruLayerT<T, 1, 8>, GruLayerT<T, 8, 8>, DenseT<T, 8, 1>>>(
        {{Cell::gru, 8}, {Cell::gru, 8}}, 21, std::make_index_sequence<2>{});
    check_stack_shape<T, true, vashrink::SkipModelT<T, LstmLayerT<T, 1, 8>, LstmLayerT<T, 8, 8>, DenseT<T, 8, 1>>>(
        {{Cell::lstm, 8}, {Cell::lstm, 8}}, 22, std::make_index_sequence<2>{});
    check_stack_shape<T, false, vashrink::ModelT<T, GruLayerT<T, 1, 5>, LstmLayerT<T, 5, 13>, DenseT<T, 13, 1>>>(
        {{Cell::gru, 5}, {Cell::lstm, 13}}, 23, std::make_index_sequence<2>{});
    check_stack_shape<T, true,
                      vashrink::SkipModelT<T, LstmLayerT<T, 1, 3>, GruLayerT<T, 3, 16>, LstmLayerT<T, 16, 2>, DenseT<T, 2, 1>>>(
        {{Cell::lstm, 3}, {Cell::gru, 16}, {Cell::lstm, 2}}, 24, std::make_index_sequence<3>{});
}

template <typename T>
void check_stack_load_failures() {
    using vashrink::Cell;
    g_context = sizeof(T) == 4 ? "float stack load failures" : "double stack load failures";
    const StackNet<T> good = make_stack<T>({{Cell::gru, 6}, {Cell::lstm, 4}}, 31);
    const vashrink::LayerSpec<T> d = good.dense();
    vashrink::Model<T> m;
    const auto refused = [&](const std::vector<vashrink::RecurrentSpec<T>>& s, const vashrink::LayerSpec<T>& dense,
                             const std::string& message) {
        CHECK(m.load(good.specs().data(), 2, &d, 1).ok);  // a good model first: failure must empty it
        const vashrink::Status st = m.load(s.data(), s.size(), &dense, 1);
        CHECK(!st.ok && st.message == message);
        if (st.message != message) std::fprintf(stderr, "  got: %s\n", st.message.c_str());
        check_empty(m);
        CHECK(m.n_recurrent() == 0 && m.hidden_size() == 0 && m.cell() == Cell{});
    };
    std::vector<vashrink::RecurrentSpec<T>> s = good.specs();
    s[1].in_size = 5;  // layer 0 gives 6
    refused(s, d, "recurrent layer 1: expects 5 inputs but recurrent layer 0 (GRU) gives 6");
    s = good.specs();
    s[1].cell = Cell::gru;
    s[1].bias_hh = nullptr;  // a GRU needs both biases
    refused(s, d, "recurrent layer 1: GRU: weight_ih, weight_hh, bias_ih or bias_hh missing");
    s = good.specs();
    s[1].cell = static_cast<Cell>(9);
    refused(s, d, "recurrent layer 1: unknown cell type (use gru or lstm)");
    std::vector<T> nan_w = good.layers[1].w_hh;
    nan_w[3] = kNaN<T>;
    s = good.specs();
    s[1].weight_hh = nan_w.data();
    refused(s, d, "recurrent layer 1: LSTM: weight_hh contains NaN or Inf");
    s = good.specs();
    while (s.size() < 9) s.push_back(good.layers[1].spec());  // the count is checked first
    refused(s, d, "9 recurrent layers; at most 8 are supported");
    vashrink::LayerSpec<T> wrong_in = d;
    wrong_in.in_size = 6;  // the head must read the last layer (4), not the first (6)
    refused(good.specs(), wrong_in, "dense layer 0: expects 6 inputs but the last LSTM (recurrent layer 1) gives 4");
    CHECK(!m.load(good.specs().data(), 0, &d, 1).ok);
    check_empty(m);
    // Eight chained layers load, and so does the single-layer overload afterwards.
    s = {good.layers[0].spec()};
    const StackLayer<T> six = make_stack<T>({{Cell::gru, 6}, {Cell::gru, 6}}, 32).layers[1];
    while (s.size() < 8) s.push_back(six.spec());
    const vashrink::LayerSpec<T> d6{6, 1, Activation::none, good.layers[1].w_ih.data(), good.b_d.data(), nullptr};
    CHECK(m.load(s.data(), s.size(), &d6, 1).ok && m.n_recurrent() == 8 && m.n_layers() == 9);
    CHECK(m.load(good.layers[0].spec(), &d6, 1).ok && m.n_recurrent() == 1 && m.hidden_size() == 6);
}

}  // namespace
