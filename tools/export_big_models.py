#!/usr/bin/env python3
"""Export the big-model benchmark's ONNX files: torchvision VGG-16 (138 M parameters, ~528 MB)
and ResNet-50 (25.6 M, ~98 MB), plus VGG-16 again with its weights in an external data file.

Set-up (Debian bookworm, as root):
    apt-get update && apt-get install -y python3-torch python3-torchvision python3-onnx

Run with Debian's interpreter (the packages are invisible to a pyenv or venv python3):
    /usr/bin/python3 tools/export_big_models.py bench/out/big

Debian's torchvision has no pretrained weights, so the weights are torchvision's seeded random
initialisation: memory and time depend on sizes and graph, not on the values. Files written:
vgg16.onnx, resnet50.onnx, vgg16_ext.onnx + vgg16_ext.onnx.data. Existing files are kept unless
--force is given (the export takes a minute and ~3 GB of memory). Outputs are not committed.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import onnx
import torch
import torchvision


def untie(model: torch.nn.Module) -> None:
    # torchvision initialises every bias to zero and BatchNorm to the identity, and the exporter
    # replaces identical initializers by Identity nodes of one of them: a layout trained weights
    # never produce (and one the channel analysis does not follow yet). Small random biases and
    # BatchNorm statistics give every layer its own tensors, as a trained checkpoint has.
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=g) + 0.5)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=g) + 0.5)
                module.running_mean.copy_((torch.rand(module.running_mean.shape, generator=g) - 0.5) * 0.2)
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.Tensor):
                bias.copy_((torch.rand(bias.shape, generator=g) - 0.5) * 0.1)


def export(model: torch.nn.Module, path: Path) -> None:
    untie(model)
    model.eval()
    dummy = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            str(path),
            opset_version=13,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            do_constant_folding=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for the .onnx files (created if missing)")
    ap.add_argument("--force", action="store_true", help="re-export files that already exist")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    builders = {"vgg16": torchvision.models.vgg16, "resnet50": torchvision.models.resnet50}
    for name, build in builders.items():
        path = args.out / f"{name}.onnx"
        if path.exists() and not args.force:
            print(f"{path}: exists, kept")
            continue
        model = build(weights=None)
        params = sum(p.numel() for p in model.parameters())
        export(model, path)
        print(f"{path}: {params / 1e6:.1f} M parameters, {path.stat().st_size / 2**20:.0f} MiB")

    ext = args.out / "vgg16_ext.onnx"
    if not ext.exists() or args.force:
        proto = onnx.load(str(args.out / "vgg16.onnx"))
        for stale in (ext, ext.with_name(ext.name + ".data")):
            if stale.exists():
                stale.unlink()
        onnx.save_model(proto, str(ext), save_as_external_data=True, all_tensors_to_one_file=True, location=ext.name + ".data", size_threshold=1024)
        print(f"{ext}: {ext.stat().st_size / 2**10:.0f} KiB + {ext.name}.data {(args.out / (ext.name + '.data')).stat().st_size / 2**20:.0f} MiB")
    else:
        print(f"{ext}: exists, kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
