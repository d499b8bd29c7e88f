"""Where Levenberg-Marquardt stops paying: cost per LM iteration vs parameters P, against Adam.

``--timing``: per P (depth-2 tanh nets, N = 1000 samples, float64), the wall time of one LM
iteration (mean over the iterations of a real run, accepted and rejected steps mixed; with the
``P x P`` solve and, from P = 300, with the sample-space ``N x N`` solve) and of one full-batch
Adam step of the same net in torch (float32 and float64). ``--race``: equal wall-clock budgets
for LM and Adam on sin(5x), best max abs error each reaches. One thread throughout.

    python bench/bench_lm.py --timing --race --quality --throughput
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vashrink.train.levenberg import fit_mlps
from vashrink.train.lm_core import LMConfig, levenberg_marquardt
from vashrink.train.lm_network import Layout, jacobian

WIDTHS = {10: 2, 50: 5, 100: 8, 300: 15, 1000: 30, 2000: 43, 3000: 53}
RACE_SHAPES = ((2, 8), (2, 15), (2, 30), (3, 30), (2, 43))


def _data(n: int = 1000) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]:
    x = np.linspace(0.0, np.pi, n)
    y = np.sin(5.0 * x)
    u = torch.as_tensor(2.0 * x / np.pi - 1.0)
    t = torch.as_tensor((y - y.mean()) / y.std())
    return u, t, x, y


def _adam_model(width: int, depth: int, dtype: torch.dtype) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = [torch.nn.Linear(1, width), torch.nn.Tanh()]
    for _ in range(depth - 1):
        layers += [torch.nn.Linear(width, width), torch.nn.Tanh()]
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers).to(dtype)


def adam_step_s(width: int, depth: int, dtype: torch.dtype, steps: int = 200) -> float:
    """Mean seconds per full-batch Adam step (forward, MSE, backward, update)."""
    u, t, _, _ = _data()
    model = _adam_model(width, depth, dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys = u[:, None].to(dtype), t[:, None].to(dtype)
    for k in range(steps + 20):
        if k == 20:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((model(xs) - ys) ** 2)
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def lm_iteration_s(width: int, depth: int, starts: int, dual: bool | None, iters: int) -> float:
    """Mean seconds per LM iteration per candidate, from a real run of ``iters`` iterations."""
    u, t, _, _ = _data()
    layout = Layout(depth, width)
    theta = torch.as_tensor(np.random.default_rng(0).normal(0, 0.3, (starts, layout.size)))
    config = LMConfig(max_iters=iters, stall_rtol=-1.0, lam_max=1e300, dual=dual)
    start = time.perf_counter()
    run = levenberg_marquardt(layout, "tanh", u, t, theta, config)
    return (time.perf_counter() - start) / float(run.iterations.sum())


def jacobian_s(width: int, depth: int) -> float:
    """Seconds for one analytic Jacobian ``[1, N, P]`` plus ``J^T J``."""
    u, _, _, _ = _data()
    layout = Layout(depth, width)
    theta = torch.as_tensor(np.random.default_rng(0).normal(0, 0.3, (1, layout.size)))
    start = time.perf_counter()
    for _ in range(3):
        _, jac = jacobian(layout, "tanh", theta, u)
        _ = jac.mT @ jac
    return (time.perf_counter() - start) / 3


def timing() -> None:
    print(
        "P target | shape | P | LM s/iter (primal) | LM s/iter (dual) | "
        "LM, 4 starts batched, s/iter/cand"
        " | J+JtJ s | Adam f32 s/step | Adam f64 s/step | LM iter / Adam f32 step"
    )
    for p_target, width in WIDTHS.items():
        layout = Layout(2, width)
        iters = 30 if layout.size < 500 else 6 if layout.size < 1500 else 3
        primal = lm_iteration_s(width, 2, 1, False, iters)
        dual = lm_iteration_s(width, 2, 1, True, iters) if layout.size >= 300 else float("nan")
        batched = lm_iteration_s(width, 2, 4, None, iters) if layout.size <= 1000 else float("nan")
        jac = jacobian_s(width, 2)
        a32, a64 = adam_step_s(width, 2, torch.float32), adam_step_s(width, 2, torch.float64)
        lm_best = min(primal, dual) if np.isfinite(dual) else primal
        print(
            f"{p_target:5d} | 2x{width} | {layout.size} | {primal:.2e} | {dual:.2e} | "
            f"{batched:.2e} | "
            f"{jac:.2e} | {a32:.2e} | {a64:.2e} | {lm_best / a32:.0f}",
            flush=True,
        )


def race(budget_s: float, shapes: tuple[tuple[int, int], ...]) -> None:
    """Equal wall time: LM (1 start, spread init, minimax) vs Adam (lr 1e-3 and 1e-2, float32)."""
    _, _, x, y = _data()
    print(
        f"race on sin(5x) [0, pi], {budget_s:.0f} s each, max abs error on the 1000 training points"
    )
    for depth, width in shapes:
        (lm,) = fit_mlps(
            x,
            y,
            [(depth, width)],
            "tanh",
            starts=1,
            max_iters=100_000,
            deadline_s=budget_s,
            stall_rtol=1e-9,
        )
        size = Layout(depth, width).size
        line = f"{depth}x{width} P={size}: LM {lm.max_abs_error:.2e} ({lm.iterations} it)"
        for lr in (1e-3, 1e-2):
            torch.manual_seed(0)
            model = _adam_model(width, depth, torch.float32)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            xs = torch.as_tensor((2.0 * x / np.pi - 1.0)[:, None], dtype=torch.float32)
            ys = torch.as_tensor(y[:, None], dtype=torch.float32)
            end, steps, best = time.perf_counter() + budget_s, 0, float("inf")
            while time.perf_counter() < end:
                opt.zero_grad(set_to_none=True)
                out = model(xs)
                loss = torch.mean((out - ys) ** 2)
                loss.backward()
                opt.step()
                steps += 1
                if steps % 100 == 0:
                    best = min(best, float((out.detach() - ys).abs().max()))
            line += f" | Adam lr {lr:g}: {best:.2e} ({steps} steps)"
        print(line, flush=True)


def throughput(depths: int = 4, widths: int = 8) -> None:
    """Candidates per second for tiny nets (depth 1..``depths`` x width 1..``widths``) on
    tanh(2x): the shrink recipe (LM) against batched Adam (1,000 epochs), max abs error each."""
    from vashrink.model.architecture import Architecture
    from vashrink.train.candidates import train_candidates
    from vashrink.train.config import TrainConfig

    archs = [Architecture(d, w) for d in range(1, depths + 1) for w in range(1, widths + 1)]
    for name, config in (
        ("lm", TrainConfig(optimizer="lm")),
        ("adam", TrainConfig(optimizer="adam")),
    ):
        started = time.process_time()
        results = train_candidates("tanh(2*x)", -1, 1, archs, config, progress=False)
        cpu = time.process_time() - started
        errors = sorted(r.max_abs_error for r in results)
        print(
            f"{name:4s}: {len(archs)} candidates in {cpu:.1f} CPU s = "
            f"{len(archs) / cpu:.2f} candidates/s; max abs error median "
            f"{errors[len(errors) // 2]:.2g}, "
            f"worst {errors[-1]:.2g}",
            flush=True,
        )


QUALITY_CASES = (
    ("tanh(2*x)", -1.0, 1.0, "1x1"),
    ("tanh(2*x)", -1.0, 1.0, "1x8"),
    ("sin(5*x)", 0.0, float(np.pi), "2x8"),
    ("x**3/8", -2.0, 2.0, "1x4"),
)


def quality() -> None:
    """Max abs error the default recipes reach on nets of numbers.md (float64 model; float32
    engine model), LM against the batched Adam recipe."""
    from vashrink.model.architecture import Architecture
    from vashrink.search.score import check_error
    from vashrink.target.samples import as_target
    from vashrink.train.candidates import train_candidates
    from vashrink.train.config import TrainConfig

    print("| target | net | LM float64 | LM float32 engine | s | Adam float32 engine | s |")
    print("|---|---|---|---|---|---|---|")
    for text, a, b, shape in QUALITY_CASES:
        target = as_target(text)
        arch = Architecture.parse(shape)
        row = [text, shape]
        for name in ("lm", "adam"):
            (res,) = train_candidates(
                target, a, b, [arch], TrainConfig(optimizer=name), progress=False
            )
            check = check_error(res.model, target, a, b, dtype="float32")
            if name == "lm":
                row.append(f"{res.max_abs_error:.2g}")
            row += [f"{check.max_abs_error:.2g}", f"{res.seconds:.1f}"]
        print("| " + " | ".join(row) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--race", action="store_true")
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--race-s", type=float, default=30.0)
    parser.add_argument(
        "--race-shape", nargs=2, type=int, action="append", help="depth width (repeatable)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.timing:
        timing()
    if args.quality:
        quality()
    if args.throughput:
        throughput()
    if args.race:
        race(args.race_s, tuple(map(tuple, args.race_shape)) if args.race_shape else RACE_SHAPES)


if __name__ == "__main__":
    main()
