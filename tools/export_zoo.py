#!/usr/bin/env python3
"""Export the model corpus of the coverage benchmark (npm run bench:zoo, bench/zoo.ts), or the small
fixtures its CI tests use (test/integration/zooFixtures.test.ts).

Set-up (Debian bookworm, as root):
    apt-get update && apt-get install -y python3-torch python3-torchvision python3-onnx

Run with Debian's interpreter (the packages are invisible to a pyenv or venv python3):
    /usr/bin/python3 tools/export_zoo.py bench/out/zoo [--only resnet18,vgg11] [--force]
    /usr/bin/python3 tools/export_zoo.py --fixtures test/fixtures/zoo

Zoo: every CNN classification and segmentation architecture family of torchvision 0.14 (a few sizes
per family), each exported twice:
  - `random`:  the constructor's own initialisation. BatchNorm is the identity and most biases are
    zero, so after folding BatchNorm into the convolutions many initializers are identical and the
    exporter deduplicates them (one tensor shared by several nodes, or Identity nodes of one).
  - `trained`: seeded random BatchNorm statistics and affine parameters, norm affines and biases,
    as a trained checkpoint has (Debian's torchvision ships no pretrained weights).
Both in eval mode, opset 13, batch and (where the architecture allows) height/width dynamic, at a
small input size (64×64 mostly) so the benchmark fits a laptop. Plus opset 11 and 17 variants of a
few and one export that keeps BatchNormalization (TrainingMode.PRESERVE on an eval model skips the
exporter's Conv+BN folding). A manifest.json lists every file with its input size and provenance.
Outputs (several GB) are not committed; existing files are kept unless --force is given.

Fixtures: tiny width-reduced models built from torchvision's own blocks (SE, Fire, ResNeXt grouped
bottleneck, ShuffleNetV2 unit) plus the exporter layouts the analysis must follow (an initializer
shared by two nodes, Identity-of-initializer, BatchNormalization kept), each a few KB, with
manifest.json. Deterministic: same torch version and seed, same bytes.
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import onnx
import torch
import torchvision
from torch import nn
from torchvision import models as tvm

SEED = 0

# name: (builder, input size, dynamic H/W, task). Sizes: 64 where the network's global pooling
# allows any size; VGG and AlexNet pool adaptively to 7×7 / 6×6, which the exporter only writes for
# an input size whose feature map is a multiple of it, so they are fixed at 224; Inception-v3
# needs at least 75 and GoogLeNet's stem assumes more than 32.
ZOO = {
    "alexnet": (tvm.alexnet, 224, False, "classify"),
    "vgg11": (tvm.vgg11, 224, False, "classify"),
    "vgg11_bn": (tvm.vgg11_bn, 224, False, "classify"),
    "vgg16_bn": (tvm.vgg16_bn, 224, False, "classify"),
    "resnet18": (tvm.resnet18, 64, True, "classify"),
    "resnet34": (tvm.resnet34, 64, True, "classify"),
    "resnet50": (tvm.resnet50, 64, True, "classify"),
    "resnet101": (tvm.resnet101, 64, True, "classify"),
    "resnext50_32x4d": (tvm.resnext50_32x4d, 64, True, "classify"),
    "wide_resnet50_2": (tvm.wide_resnet50_2, 64, True, "classify"),
    "densenet121": (tvm.densenet121, 64, True, "classify"),
    "densenet169": (tvm.densenet169, 64, True, "classify"),
    "mobilenet_v2": (tvm.mobilenet_v2, 64, True, "classify"),
    "mobilenet_v3_small": (tvm.mobilenet_v3_small, 64, True, "classify"),
    "mobilenet_v3_large": (tvm.mobilenet_v3_large, 64, True, "classify"),
    "efficientnet_b0": (tvm.efficientnet_b0, 64, True, "classify"),
    "efficientnet_b1": (tvm.efficientnet_b1, 64, True, "classify"),
    "efficientnet_b2": (tvm.efficientnet_b2, 64, True, "classify"),
    "efficientnet_b3": (tvm.efficientnet_b3, 64, True, "classify"),
    "efficientnet_v2_s": (tvm.efficientnet_v2_s, 64, True, "classify"),
    "regnet_x_400mf": (tvm.regnet_x_400mf, 64, True, "classify"),
    "regnet_x_800mf": (tvm.regnet_x_800mf, 64, True, "classify"),
    "regnet_y_400mf": (tvm.regnet_y_400mf, 64, True, "classify"),
    "regnet_y_800mf": (tvm.regnet_y_800mf, 64, True, "classify"),
    "regnet_y_1_6gf": (tvm.regnet_y_1_6gf, 64, True, "classify"),
    "mnasnet0_5": (tvm.mnasnet0_5, 64, True, "classify"),
    "mnasnet0_75": (tvm.mnasnet0_75, 64, True, "classify"),
    "mnasnet1_0": (tvm.mnasnet1_0, 64, True, "classify"),
    "mnasnet1_3": (tvm.mnasnet1_3, 64, True, "classify"),
    "shufflenet_v2_x0_5": (tvm.shufflenet_v2_x0_5, 64, True, "classify"),
    "shufflenet_v2_x1_0": (tvm.shufflenet_v2_x1_0, 64, True, "classify"),
    "shufflenet_v2_x1_5": (tvm.shufflenet_v2_x1_5, 64, True, "classify"),
    "shufflenet_v2_x2_0": (tvm.shufflenet_v2_x2_0, 64, True, "classify"),
    "squeezenet1_0": (tvm.squeezenet1_0, 64, True, "classify"),
    "squeezenet1_1": (tvm.squeezenet1_1, 64, True, "classify"),
    "googlenet": (lambda **kw: tvm.googlenet(aux_logits=True, init_weights=True, **kw), 64, True, "classify"),
    "inception_v3": (lambda **kw: tvm.inception_v3(aux_logits=True, init_weights=True, **kw), 96, True, "classify"),
    "convnext_tiny": (tvm.convnext_tiny, 64, True, "classify"),
    "convnext_small": (tvm.convnext_small, 64, True, "classify"),
    "fcn_resnet50": (lambda **kw: tvm.segmentation.fcn_resnet50(weights_backbone=None, **kw), 64, True, "segment"),
    "deeplabv3_resnet50": (lambda **kw: tvm.segmentation.deeplabv3_resnet50(weights_backbone=None, **kw), 64, True, "segment"),
    "deeplabv3_mobilenet_v3_large": (lambda **kw: tvm.segmentation.deeplabv3_mobilenet_v3_large(weights_backbone=None, **kw), 64, True, "segment"),
    "lraspp_mobilenet_v3_large": (lambda **kw: tvm.segmentation.lraspp_mobilenet_v3_large(weights_backbone=None, **kw), 64, True, "segment"),
}

# Extra exports of a few architectures (trained-like weights): other opsets, BatchNorm kept.
VARIANTS = [
    ("resnet18", "opset11", {"opset": 11}),
    ("resnet18", "opset17", {"opset": 17}),
    ("mobilenet_v3_small", "opset11", {"opset": 11}),
    ("mobilenet_v3_small", "opset17", {"opset": 17}),
    ("squeezenet1_1", "opset11", {"opset": 11}),
    ("squeezenet1_1", "opset17", {"opset": 17}),
    ("resnet18", "bnkept", {"keep_bn": True}),
    ("mobilenet_v3_small", "bnkept", {"keep_bn": True}),
]


class SegmentationOut(nn.Module):
    """torchvision's segmentation models return a dict; the exported graph keeps only 'out'."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def trained_like(model: nn.Module, seed: int) -> None:
    # Trained checkpoints have per-channel norm statistics and non-zero biases; random values of
    # the same scale give every layer its own tensors, so folding yields distinct initializers.
    g = torch.Generator().manual_seed(seed)

    def rand(t: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(rand(m.running_mean, -0.1, 0.1))
                m.running_var.copy_(rand(m.running_var, 0.5, 1.5))
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)) and m.weight is not None:
                m.weight.copy_(rand(m.weight, 0.5, 1.5))
                m.bias.copy_(rand(m.bias, -0.1, 0.1))
            elif isinstance(getattr(m, "bias", None), torch.Tensor) and isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.copy_(rand(m.bias, -0.05, 0.05))


def export(model: nn.Module, path: Path, size: int, dynamic_hw: bool, opset: int = 13, keep_bn: bool = False, output: str = "logits") -> None:
    model.eval()
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_hw else {0: "batch"}
    out_axes = {0: "batch"} if output == "logits" else axes
    tmp = path.with_name(path.name + ".tmp")
    with torch.no_grad():
        torch.onnx.export(
            model,
            torch.zeros(1, 3, size, size),
            str(tmp),
            opset_version=opset,
            input_names=["input"],
            output_names=[output],
            dynamic_axes={"input": axes, output: out_axes},
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
        )
    onnx.checker.check_model(str(tmp))
    tmp.replace(path)


def build(arch: str, seed: int) -> nn.Module:
    builder, _, _, task = ZOO[arch]
    torch.manual_seed(seed)
    model = builder(weights=None)
    return SegmentationOut(model) if task == "segment" else model


def node_counts(path: Path) -> dict:
    proto = onnx.load(str(path), load_external_data=False)
    counts: dict = {}
    for n in proto.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def entry(name: str, arch: str, init: str, path: Path, size: int, dynamic_hw: bool, task: str, opset: int, params: int, note: str = "") -> dict:
    ops = node_counts(path)
    return {
        "name": name,
        "arch": arch,
        "init": init,
        "file": path.name,
        "task": task,
        "input": [1, 3, size, size],
        "dynamicHW": dynamic_hw,
        "opset": opset,
        "params": params,
        "bytes": path.stat().st_size,
        "nodes": sum(ops.values()),
        "identityNodes": ops.get("Identity", 0),
        "batchNorms": ops.get("BatchNormalization", 0),
        **({"note": note} if note else {}),
    }


def export_zoo(out: Path, only: set, force: bool) -> int:
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    old = {m["name"]: m for m in json.loads(manifest_path.read_text())["models"]} if manifest_path.exists() else {}
    models = []
    jobs = [(arch, init, "", {}) for arch in ZOO for init in ("random", "trained")]
    jobs += [(arch, "trained", tag, opts) for arch, tag, opts in VARIANTS]
    for i, (arch, init, tag, opts) in enumerate(jobs):
        if only and arch not in only:
            continue
        name = f"{arch}.{init}" + (f".{tag}" if tag else "")
        path = out / f"{name}.onnx"
        _, size, dynamic_hw, task = ZOO[arch]
        opset = opts.get("opset", 13)
        if path.exists() and not force and name in old:
            models.append(old[name])
            continue
        # One seed per architecture, so its two initialisations share the constructor's draw.
        seed = SEED + list(ZOO).index(arch)
        model = build(arch, seed)
        if init == "trained":
            trained_like(model, seed + 1000)
        params = sum(p.numel() for p in model.parameters())
        try:
            export(model, path, size, dynamic_hw, opset=opset, keep_bn=opts.get("keep_bn", False), output="logits" if task == "classify" else "out")
        except Exception as err:  # noqa: BLE001 — a model the exporter refuses is a row, not a stop
            print(f"{name}: export failed: {str(err).splitlines()[0]}", file=sys.stderr)
            continue
        e = entry(name, arch, init, path, size, dynamic_hw, task, opset, params, note=tag)
        models.append(e)
        print(f"[{i + 1}/{len(jobs)}] {path.name}: {params / 1e6:.2f} M params, {e['nodes']} nodes, {e['identityNodes']} Identity, input {size}{'' if dynamic_hw else ' (fixed)'}", flush=True)
    if only:
        keep = {m["name"] for m in models}
        models = sorted(models + [m for n, m in old.items() if n not in keep], key=lambda m: m["name"])
    manifest = {
        "generator": "tools/export_zoo.py",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__},
        "seed": SEED,
        "models": models,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
# Fixtures: one torchvision block (or exporter layout) per model, tiny widths, 32×32 inputs.


class Head(nn.Module):
    """Global pooling, Flatten and a Linear classifier: how every torchvision classifier ends."""

    def __init__(self, c: int, classes: int = 4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(x), 1))


def stem(c: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))


class SE(nn.Module):
    """MobileNetV3's inverted residual with torchvision's SqueezeExcitation between depthwise and projection."""

    def __init__(self):
        super().__init__()
        self.stem = stem(16)
        self.expand = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.BatchNorm2d(32), nn.Hardswish())
        self.se = torchvision.ops.SqueezeExcitation(32, 8, scale_activation=nn.Hardsigmoid)
        self.project = nn.Sequential(nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.head = Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(x + self.project(self.se(self.dw(self.expand(x)))))


class Fire(nn.Module):
    """Two SqueezeNet Fire modules (squeeze, then 1×1 and 3×3 expands concatenated)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(inplace=True))
        self.fire1 = tvm.squeezenet.Fire(16, 8, 12, 12)
        self.fire2 = tvm.squeezenet.Fire(24, 8, 16, 16)
        self.classifier = nn.Sequential(nn.Conv2d(32, 4, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.fire2(self.fire1(self.stem(x)))), 1)


class Grouped(nn.Module):
    """A ResNeXt bottleneck (grouped 3×3, cardinality 4) with a projection shortcut."""

    def __init__(self):
        super().__init__()
        self.stem = stem(16)
        down = nn.Sequential(nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32))
        self.block = tvm.resnet.Bottleneck(16, 8, groups=4, base_width=16, downsample=down)
        self.head = Head(32)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


class Shuffle(nn.Module):
    """ShuffleNetV2: a downsampling unit then a basic unit (chunk, branch, concat, channel shuffle)."""

    def __init__(self):
        super().__init__()
        self.stem = stem(16)
        self.down = tvm.shufflenetv2.InvertedResidual(16, 32, 2)
        self.unit = tvm.shufflenetv2.InvertedResidual(32, 32, 1)
        self.head = Head(32)

    def forward(self, x):
        return self.head(self.unit(self.down(self.stem(x))))


class Shared(nn.Module):
    """One convolution applied in two places (weight tying): one initializer read by two Conv nodes."""

    def __init__(self):
        super().__init__()
        self.stem = stem(16)
        self.tied = nn.Conv2d(16, 16, 3, padding=1)
        self.mid = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True))
        self.head = Head(16)

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.tied(self.mid(torch.relu(self.tied(x)))))


class Basic(nn.Module):
    """Two ResNet basic blocks at the constructor's initialisation: BatchNorm is the identity, so
    every folded bias is zero and the exporter deduplicates them (Identity nodes of one)."""

    def __init__(self):
        super().__init__()
        self.stem = stem(16)
        down = nn.Sequential(nn.Conv2d(16, 24, 1, stride=2, bias=False), nn.BatchNorm2d(24))
        self.b1 = tvm.resnet.BasicBlock(16, 24, stride=2, downsample=down)
        self.b2 = tvm.resnet.BasicBlock(24, 24)
        self.head = Head(24)

    def forward(self, x):
        return self.head(self.b2(self.b1(self.stem(x))))


class BnKept(nn.Module):
    """A ResNet basic block exported with BatchNormalization nodes left in the graph."""

    def __init__(self):
        super().__init__()
        self.stem = stem(16)
        self.block = tvm.resnet.BasicBlock(16, 16)
        self.head = Head(16)

    def forward(self, x):
        return self.head(self.block(self.stem(x)))


# name: (module, trained-like weights, keep BatchNorm, pattern).
FIXTURES = {
    "se": (SE, True, False, "SqueezeExcitation (MobileNetV3 block): pooled scale multiplied back onto the feature map"),
    "fire": (Fire, True, False, "SqueezeNet Fire modules: expand 1×1 and 3×3 concatenated"),
    "grouped": (Grouped, True, False, "ResNeXt bottleneck: grouped 3×3 conv (4 groups) in a residual block"),
    "shuffle": (Shuffle, True, False, "ShuffleNetV2 units: chunk, branches, concat, channel shuffle (Reshape/Transpose)"),
    "shared": (Shared, True, False, "weight tying: one initializer read by two Conv nodes"),
    "identity": (Basic, False, False, "ResNet basic blocks at random init: deduplicated zero biases (Identity of an initializer)"),
    "bnkept": (BnKept, True, True, "BatchNormalization kept in the graph (TrainingMode.PRESERVE)"),
}


def export_fixtures(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (name, (cls, trained, keep_bn, pattern)) in enumerate(FIXTURES.items()):
        torch.manual_seed(SEED + i)
        model = cls()
        if trained:
            trained_like(model, SEED + 100 + i)
        path = out / f"{name}.onnx"
        export(model, path, 32, True, opset=13, keep_bn=keep_bn)
        e = entry(name, name, "trained" if trained else "random", path, 32, True, "classify", 13, sum(p.numel() for p in model.parameters()), note=pattern)
        proto = onnx.load(str(path))
        uses: dict = {}
        for n in proto.graph.node:
            for x in n.input:
                uses[x] = uses.get(x, 0) + 1
        e["sharedInitializers"] = sum(1 for t in proto.graph.initializer if uses.get(t.name, 0) > 1)
        e["groupedConvs"] = sum(1 for n in proto.graph.node if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute))
        entries.append(e)
        print(f"{path}: {e['bytes']} bytes, {e['nodes']} nodes, Identity {e['identityNodes']}, BatchNorm {e['batchNorms']}, shared initializers {e['sharedInitializers']}, grouped convs {e['groupedConvs']}")
    manifest = {
        "generator": "tools/export_zoo.py --fixtures",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__},
        "seed": SEED,
        "models": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, nargs="?", help="folder for the zoo's .onnx files and manifest.json (created if missing)")
    ap.add_argument("--fixtures", type=Path, help="write the small CI fixtures into this folder instead")
    ap.add_argument("--only", default="", help="comma-separated architectures to export (default: all)")
    ap.add_argument("--force", action="store_true", help="re-export files that already exist")
    ap.add_argument("--list", action="store_true", help="print the architectures and exit")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    if args.list:
        for arch, (_, size, dyn, task) in ZOO.items():
            print(f"{arch}\t{task}\t{size}{'' if dyn else ' fixed'}")
        return 0
    if args.fixtures:
        return export_fixtures(args.fixtures)
    if not args.out:
        ap.error("give the output folder, or --fixtures DIR")
    return export_zoo(args.out, {a for a in args.only.split(",") if a}, args.force)


if __name__ == "__main__":
    sys.exit(main())
