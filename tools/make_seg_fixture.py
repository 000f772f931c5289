"""Writes test/fixtures/tinyseg.onnx: a width-reduced FCN-style segmentation network for CI.

Backbone of strided 3x3 convolutions (BatchNorm folded on export), a 5-class 1x1 head and bilinear
upsampling to the input size, like torchvision's FCN; a second 'aux' output from an earlier stage
mirrors torchvision exports with aux_loss=True (the pipeline uses the first output, 'out').
Seeded, so the file is reproducible: /usr/bin/python3 tools/make_seg_fixture.py
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 5


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class TinySeg(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = block(3, 12, 1)
        self.stage1 = block(12, 16, 2)
        self.stage2 = nn.Sequential(block(16, 24, 2), block(24, 24, 1))
        self.head = nn.Sequential(block(24, 16, 1), nn.Conv2d(16, CLASSES, 1))
        self.aux = nn.Conv2d(16, CLASSES, 1)

    def forward(self, x):
        size = x.shape[-2:]
        f1 = self.stage1(self.stem(x))
        out = F.interpolate(self.head(self.stage2(f1)), size=size, mode="bilinear", align_corners=False)
        aux = F.interpolate(self.aux(f1), size=size, mode="bilinear", align_corners=False)
        return out, aux


def main():
    torch.manual_seed(17)
    m = TinySeg()
    # Trained-like BatchNorm statistics, so folded convolutions have non-trivial biases.
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    m.eval()
    out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "tinyseg.onnx")
    torch.onnx.export(
        m,
        torch.rand(1, 3, 32, 32),
        out,
        opset_version=13,
        input_names=["input"],
        output_names=["out", "aux"],
        dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "out": {0: "N", 2: "H", 3: "W"}, "aux": {0: "N", 2: "H", 3: "W"}},
    )
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
