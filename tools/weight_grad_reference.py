#!/usr/bin/env python3
"""Reference weight gradients from PyTorch for the recovery training graph's check.

Runs a fixture ONNX model in PyTorch (a small interpreter over the ops the fixtures use, with
every initializer a leaf tensor that requires grad), takes the summed per-sample distillation
loss  L = sum_n mean((y_n - t_n)^2)  against a deterministic input and target, and writes the
loss, every weight's gradient norm and a few gradient elements (at seeded positions) to
test/fixtures/gradref/<model>.json. test/integration/recoverPytorch.test.ts compares the
gradients built by src/core/recover/trainingGraph.ts with them.

    /usr/bin/python3 tools/weight_grad_reference.py [unet dncnn ...]
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
N, C, H, W = 2, 3, 16, 16
PER_WEIGHT = 6


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def sym_pads(node, a):
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise SystemExit(f"{node.name}: asymmetric pads are not handled by this reference")
    return pads[:2]


def run(model, params, x):
    env = {model.graph.input[0].name: x}
    env.update(params)
    for node in model.graph.node:
        a = attrs(node)
        i = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                         padding=sym_pads(node, a), dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif op == "ConvTranspose":
            y = F.conv_transpose2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                                   padding=sym_pads(node, a), output_padding=a.get("output_padding", [0, 0]),
                                   dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        elif op == "BatchNormalization":
            y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], training=False, eps=a.get("epsilon", 1e-5))
        elif op == "Relu":
            y = F.relu(i[0])
        elif op == "LeakyRelu":
            y = F.leaky_relu(i[0], a.get("alpha", 0.01))
        elif op == "MaxPool":
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides"), sym_pads(node, a))
        elif op == "Concat":
            y = torch.cat(i, dim=a["axis"])
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Sub":
            y = i[0] - i[1]
        else:
            raise SystemExit(f"{node.name}: op {op} is not handled by this reference")
        env[node.output[0]] = y
    return env[model.graph.output[0].name]


def reference(name):
    model = onnx.load(str(ROOT / "test" / "fixtures" / f"{name}.onnx"))
    params = {}
    for t in model.graph.initializer:
        arr = numpy_helper.to_array(t).astype(np.float32)
        # Running statistics are constants in inference-form BN; everything else is trained.
        trainable = not (t.name.endswith("running_mean") or t.name.endswith("running_var"))
        params[t.name] = torch.tensor(arr, dtype=torch.float64, requires_grad=trainable)
    # Deterministic data without a random generator shared with the TypeScript side.
    k = np.arange(N * C * H * W, dtype=np.float64)
    x = (0.5 + 0.45 * np.sin(0.37 * k) * np.cos(0.011 * k)).astype(np.float32)
    t = (0.5 + 0.4 * np.cos(0.23 * k + 1.0)).astype(np.float32)
    xt = torch.tensor(x, dtype=torch.float64).reshape(N, C, H, W)
    tt = torch.tensor(t, dtype=torch.float64).reshape(N, C, H, W)
    y = run(model, params, xt)
    loss = ((y - tt) ** 2).reshape(N, -1).mean(dim=1).sum()
    loss.backward()
    rng = np.random.default_rng(1)
    weights = {}
    for n, p in params.items():
        if not p.requires_grad:
            continue
        g = p.grad.detach().numpy().reshape(-1)
        idx = sorted(rng.choice(g.size, size=min(PER_WEIGHT, g.size), replace=False).tolist())
        weights[n] = {"norm": float(np.linalg.norm(g)), "index": idx, "value": [float(g[j]) for j in idx]}
    return {
        "generator": "tools/weight_grad_reference.py",
        "torch": torch.__version__,
        "model": f"{name}.onnx",
        "input": {"dims": [N, C, H, W], "formula": "0.5 + 0.45*sin(0.37k)*cos(0.011k), k = flat index"},
        "target": {"formula": "0.5 + 0.4*cos(0.23k + 1), k = flat index"},
        "loss": float(loss),
        "weights": weights,
    }


def main():
    names = sys.argv[1:] or ["unet", "dncnn"]
    out_dir = ROOT / "test" / "fixtures" / "gradref"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        ref = reference(name)
        (out_dir / f"{name}.json").write_text(json.dumps(ref, indent=1) + "\n")
        print(f"{name}: loss {ref['loss']:.6g}, {len(ref['weights'])} weights")


if __name__ == "__main__":
    main()
