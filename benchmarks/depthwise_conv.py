"""What a depthwise (grouped) 1-D conv costs on this machine: XLA's conv vs shifted multiply-adds.

    python benchmarks/depthwise_conv.py [--frames 16 106 1006] [--channels 192] [--kernel 7]
        [--repeats 500] [--out benchmarks/results/depthwise_conv.json]

The conv decoder's ConvNeXt blocks (``configs/decoder_synth.py``: 192 channels, kernel 7) each
run one depthwise conv. ``voxjax.models.layers.DepthwiseConv`` computes it as ``kernel`` shifted
multiply-adds instead of ``nn.Conv(feature_group_count=C)``; both rows here use the same
parameters, and the script checks that their outputs agree before timing. Input lengths: a
100 ms streaming chunk plus the 6-frame context (16), one second of offline scan (106), ten
seconds (1006). Batch 1, jitted, after warm-up; milliseconds per call (median of ``--repeats``
calls, each with ``block_until_ready``), forward and forward + gradient.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# `python benchmarks/depthwise_conv.py` from a checkout without `pip install -e .`.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import machine_info  # noqa: E402  (benchmarks/common.py, beside this file)
from voxjax import files  # noqa: E402
from voxjax.models.layers import DepthwiseConv  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()`` (blocked until ready) after five warm-up calls."""
    for _ in range(5):
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def run(args) -> dict:
    rows = []
    for frames in args.frames:
        x = jax.random.normal(jax.random.key(1), (1, frames, args.channels))
        shifted = DepthwiseConv(args.kernel)
        params = shifted.init(jax.random.key(0), x)
        grouped = nn.Conv(args.channels, (args.kernel,), feature_group_count=args.channels,
                          padding="VALID")
        impls = {"nn.Conv(feature_group_count=C)": grouped,
                 "DepthwiseConv (shifted sums)": shifted}
        outs = {}
        for name, module in impls.items():
            forward = jax.jit(module.apply)
            grad = jax.jit(jax.grad(lambda p, x, m=module: jnp.sum(m.apply(p, x) ** 2)))
            outs[name] = np.asarray(forward(params, x))
            rows.append({"implementation": name, "frames": frames,
                         "forward_ms": median_ms(lambda f=forward: f(params, x), args.repeats),
                         "grad_ms": median_ms(lambda g=grad: g(params, x), args.repeats)})
        a, b = outs.values()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for row in rows:
        ref = next(r for r in rows if r["frames"] == row["frames"])
        row["forward_vs_conv"] = row["forward_ms"] / ref["forward_ms"]
    return {"command": " ".join(sys.argv), "machine": machine_info(), "channels": args.channels,
            "kernel": args.kernel, "repeats": args.repeats, "rows": rows}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, nargs="+", default=[16, 106, 1006])
    p.add_argument("--channels", type=int, default=192)
    p.add_argument("--kernel", type=int, default=7)
    p.add_argument("--repeats", type=int, default=500)
    p.add_argument("--out", default="benchmarks/results/depthwise_conv.json")
    args = p.parse_args(argv)
    result = run(args)
    print("| implementation | frames | forward ms | forward + grad ms | forward vs nn.Conv |")
    print("|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['implementation']} | {r['frames']} | {r['forward_ms']:.4f} | "
              f"{r['grad_ms']:.4f} | {r['forward_vs_conv']:.3f} |")
    files.write_json(args.out, result, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
