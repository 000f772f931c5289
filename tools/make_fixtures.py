#!/usr/bin/env python3
"""Build QUBO Prune's test fixtures: real-photo image pairs, a rotation classification set,
four small trained ONNX models, reference outputs and test/fixtures/models.json.

Set-up (Debian bookworm, as root):
    apt-get update && apt-get install -y python3-torch python3-onnx python3-skimage libjxl-testdata

Run with Debian's interpreter (the packages above are invisible to a pyenv or venv python3):
    /usr/bin/python3 tools/make_fixtures.py            # everything (about 17 min on 1 core)
    /usr/bin/python3 tools/make_fixtures.py --stage data   # images only (seconds)

Everything is seeded and training runs a fixed number of steps on one thread, so a re-run on the
same package versions rewrites byte-identical files (checked: two full runs, identical bytes).
Wall-clock figures appear only in the printed summary.

Noise model (camera-like, signal dependent Poisson-Gaussian):
    y = x + sqrt(a*x + b) * n,  n ~ N(0, 1),  a = 0.01, b = 0.0004,
clipped to [0, 1] and quantised to 8 bits, where x is the 8-bit clean patch divided by 255.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

# One thread everywhere: the build machine is small and shared, and it keeps results reproducible.
# Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import onnx
import skimage
import skimage.data
import skimage.io
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "test" / "fixtures"
JXL = Path("/usr/share/libjxl-testdata")
SKD = Path(skimage.data.__file__).parent

SEED = 20240607
OPSET = 17
NOISE_A = 0.01
NOISE_B = 0.0004
PATCH = 128
CLS_PATCH = 32
CLASSES = ["rot0", "rot90", "rot180", "rot270"]  # patch turned k*90 degrees counter-clockwise
SPLIT_SIZES = {"calib": 24, "val": 12, "test": 12}
CLS_SIZES = {"calib": 64, "val": 32, "test": 32}
# Rotation patches come from every photograph, split by column strips: with only five training
# photographs a rotation classifier memorises them and is at chance on unseen ones, while on
# unseen regions of the same scenes it learns real cues (sky, light from above, gravity).
CLS_STRIPS = {"calib": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0)}

LIC_JXL = ("BSD-3-Clause (Copyright the JPEG XL Project Authors), per "
           "/usr/share/doc/libjxl-testdata/copyright 'Files: *'")
LIC_WESAT = "CC0 (per /usr/share/doc/libjxl-testdata/copyright 'Files: external/wesaturate/*')"

# key, Debian package, file, split, integer downscale, licence, credit.
# Photographs only; each photograph belongs to exactly one split.
PHOTOS = [
    ("flower", "libjxl-testdata", JXL / "jxl/flower/flower.png", "calib", 3, LIC_JXL,
     "libjxl test image"),
    ("hdr_room", "libjxl-testdata", JXL / "jxl/hdr_room.png", "calib", 1, LIC_JXL,
     "libjxl test image"),
    ("tulips", "libjxl-testdata", JXL / "external/wesaturate/500px/tmshre_riaphotographs_srgb8.png",
     "calib", 1, LIC_WESAT, "wesaturate.com, photographer 'riaphotographs'"),
    ("astronaut", "python3-skimage", SKD / "astronaut.png", "calib", 1,
     "Public domain (NASA), per skimage.data.astronaut docstring", "NASA, Eileen Collins"),
    ("coffee", "python3-skimage", SKD / "coffee.png", "calib", 1,
     "CC0, per skimage.data.coffee docstring", "Rachel Michetti, Pikolo Espresso Bar"),
    ("chelsea", "python3-skimage", SKD / "chelsea.png", "val", 1,
     "CC0, per skimage.data.chelsea docstring", "Stefan van der Walt"),
    ("coast", "libjxl-testdata", JXL / "external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png",
     "val", 1, LIC_WESAT, "wesaturate.com, photographer 'keong_macan'"),
    ("rocket", "python3-skimage", SKD / "rocket.jpg", "test", 1,
     "Public domain (SpaceX), per skimage.data.rocket docstring", "SpaceX, DSCOVR launch"),
    ("blossom", "libjxl-testdata", JXL / "external/wesaturate/500px/u76c0g_bliznaca_srgb8.png",
     "test", 1, LIC_WESAT, "wesaturate.com, photographer 'bliznaca'"),
]


# ----------------------------------------------------------------------------- images

def load_photo(path, down):
    img = skimage.io.imread(str(path))
    if img.ndim != 3 or img.shape[2] < 3 or img.dtype != np.uint8:
        raise SystemExit(f"{path}: expected an 8-bit RGB image, got {img.shape} {img.dtype}")
    img = img[..., :3].astype(np.float64)
    if down > 1:
        # Box averaging is exact and library-independent, so the fixtures do not drift with
        # skimage's resampling code; it also averages away any residual sensor noise.
        h, w = (img.shape[0] // down) * down, (img.shape[1] // down) * down
        img = img[:h, :w].reshape(h // down, down, w // down, down, 3).mean(axis=(1, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def add_noise(clean_u8, rng):
    x = clean_u8.astype(np.float64) / 255.0
    y = x + np.sqrt(NOISE_A * x + NOISE_B) * rng.standard_normal(x.shape)
    return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


def pick_crops(img, count, size, rng, min_std):
    """Non-overlapping crops on a randomly offset grid, skipping flat ones (flat patches teach
    pruning nothing)."""
    h, w = img.shape[:2]
    oy, ox = int(rng.integers(0, h % size + 1)), int(rng.integers(0, w % size + 1))
    cells = [(oy + r * size, ox + c * size) for r in range(h // size) for c in range(w // size)]
    boxes = [cells[i] for i in rng.permutation(len(cells))
             if img[cells[i][0]:cells[i][0] + size, cells[i][1]:cells[i][1] + size].std() / 255.0 >= min_std]
    if len(boxes) < count:
        raise SystemExit(f"could only place {len(boxes)} of {count} crops")
    return boxes[:count]


def split_counts(total, n):
    base = [total // n] * n
    for i in range(total - sum(base)):
        base[i] += 1
    return base


def save_png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    skimage.io.imsave(str(path), arr, check_contrast=False)


def read_png(path):
    return skimage.io.imread(str(path))


def cls_patch(img, rng, min_std=0.05):
    """A 32x32 patch box-downscaled from a random 64..160 px square, so it sees enough of the
    scene (sky, ground, lighting) for its orientation to be predictable."""
    h, w = img.shape[:2]
    for _ in range(1000):
        f = int(rng.integers(2, 6))
        s = CLS_PATCH * f
        if s > min(h, w):
            continue
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        p = img[y:y + s, x:x + s].astype(np.float64).reshape(CLS_PATCH, f, CLS_PATCH, f, 3).mean(axis=(1, 3))
        if p.std() / 255.0 >= min_std:
            return np.clip(np.round(p), 0, 255).astype(np.uint8), (y, x, s)
    raise SystemExit("no textured classification patch found")


def cls_strip(img, split):
    a, b = CLS_STRIPS[split]
    w = img.shape[1]
    x0, x1 = int(round(a * w)), int(round(b * w))
    return img[:, x0:x1], x0


def make_data(photos):
    for sub in ("data", "cls"):
        shutil.rmtree(FIX / sub, ignore_errors=True)  # a changed split must not leave stale files
    manifest = {"denoise": {}, "cls": {}}
    for split in ("calib", "val", "test"):
        members = [p for p in photos if p["split"] == split]
        rng = np.random.default_rng([SEED, 1, ("calib", "val", "test").index(split)])
        entries, idx = [], 0
        for p, count in zip(members, split_counts(SPLIT_SIZES[split], len(members))):
            for (y, x) in pick_crops(p["img"], count, PATCH, rng, min_std=0.04):
                clean = p["img"][y:y + PATCH, x:x + PATCH]
                noisy = add_noise(clean, rng)
                name = f"{idx:03d}.png"
                save_png(FIX / "data" / split / "clean" / name, clean)
                save_png(FIX / "data" / split / "noisy" / name, noisy)
                entries.append({"file": name, "photo": p["key"], "y": y, "x": x, "size": PATCH})
                idx += 1
        manifest["denoise"][split] = entries

        rng = np.random.default_rng([SEED, 2, ("calib", "val", "test").index(split)])
        entries = []
        per_class = [0] * len(CLASSES)
        for i in range(CLS_SIZES[split]):
            k = i % len(CLASSES)
            p = photos[(i // len(CLASSES)) % len(photos)]
            region, x0 = cls_strip(p["img"], split)
            patch, (y, x, s) = cls_patch(region, rng)
            x += x0
            name = f"{per_class[k]:03d}.png"
            per_class[k] += 1
            save_png(FIX / "cls" / split / CLASSES[k] / name, np.ascontiguousarray(np.rot90(patch, k)))
            entries.append({"file": f"{CLASSES[k]}/{name}", "label": k, "photo": p["key"],
                            "y": y, "x": x, "size": s})
        manifest["cls"][split] = entries
    with open(FIX / "data" / "manifest.json", "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


def load_pairs(split):
    d = FIX / "data" / split
    names = sorted(os.listdir(d / "clean"))
    clean = np.stack([read_png(d / "clean" / n) for n in names]).astype(np.float32) / 255.0
    noisy = np.stack([read_png(d / "noisy" / n) for n in names]).astype(np.float32) / 255.0
    return (torch.from_numpy(noisy).permute(0, 3, 1, 2).contiguous(),
            torch.from_numpy(clean).permute(0, 3, 1, 2).contiguous(), names)


def load_cls(split):
    xs, ys, files = [], [], []
    for k, c in enumerate(CLASSES):
        for n in sorted(os.listdir(FIX / "cls" / split / c)):
            xs.append(read_png(FIX / "cls" / split / c / n))
            ys.append(k)
            files.append(f"cls/{split}/{c}/{n}")
    x = torch.from_numpy(np.stack(xs).astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(ys), files


# ----------------------------------------------------------------------------- models

class DnCNN(nn.Module):
    """Zhang et al. 2017 layout at small size: residual learning, output = input - noise."""

    def __init__(self, ch=3, width=32, depth=8):
        super().__init__()
        layers = [nn.Conv2d(ch, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, ch, 3, padding=1))
        # Start as the identity (predicted noise 0): without it the first hundreds of steps are
        # spent undoing a random residual.
        nn.init.zeros_(layers[-1].weight)
        nn.init.zeros_(layers[-1].bias)
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x - self.body(x)


def conv_block(cin, cout, last_act=None):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), last_act or nn.ReLU(inplace=True))


class HalfUNet(nn.Module):
    """Lu et al. 2022: one width at every scale, every scale upsampled straight to full resolution
    and fused by addition (so the three encoders' channels are coupled through the Add)."""

    def __init__(self, ch=3, width=32):
        super().__init__()
        self.enc1 = conv_block(ch, width)
        self.enc2 = conv_block(width, width)
        self.enc3 = conv_block(width, width)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.up4 = nn.Upsample(scale_factor=4, mode="nearest")
        self.fuse = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(width, ch, 1)

    def forward(self, x):
        f1 = self.enc1(x)
        f2 = self.enc2(self.pool(f1))
        f3 = self.enc3(self.pool(f2))
        return x + self.head(self.fuse(f1 + self.up2(f2) + self.up4(f3)))


class UNet(nn.Module):
    """Two-level UNet: concatenated skips, ConvTranspose upsampling, one LeakyReLU."""

    def __init__(self, ch=3):
        super().__init__()
        self.enc1 = conv_block(ch, 16)
        self.enc2 = conv_block(16, 32)
        self.mid = conv_block(32, 64, last_act=nn.LeakyReLU(0.1, inplace=True))
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec2 = conv_block(64, 32)
        self.up1 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec1 = conv_block(32, 16)
        self.head = nn.Conv2d(16, ch, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return x + self.head(d1)


class RotNet(nn.Module):
    """Stem, one residual block with a strided 1x1 projection shortcut, two strided convs that widen
    the receptive field to the whole patch, global average pooling and a linear head (4 logits)."""

    def __init__(self, ncls=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        self.main = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32),
                                  nn.ReLU(inplace=True),
                                  nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32))
        self.shortcut = nn.Sequential(nn.Conv2d(16, 32, 1, stride=2, bias=False), nn.BatchNorm2d(32))
        self.stage2 = nn.Sequential(nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64),
                                    nn.ReLU(inplace=True),
                                    nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64),
                                    nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, ncls)

    def forward(self, x):
        s = self.stem(x)
        r = F.relu(self.main(s) + self.shortcut(s))
        return self.fc(torch.flatten(self.pool(self.stage2(r)), 1))


# ----------------------------------------------------------------------------- training

def denoise_batch(photos, rng, gen, batch, crop):
    xs = []
    for _ in range(batch):
        img = photos[int(rng.integers(len(photos)))]
        h, w = img.shape[:2]
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        p = img[y:y + crop, x:x + crop]
        if rng.integers(2):
            p = p[:, ::-1]
        xs.append(np.rot90(p, int(rng.integers(4))))
    clean = torch.from_numpy(np.stack(xs).astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()
    noise = torch.randn(clean.shape, generator=gen)
    noisy = torch.round((clean + torch.sqrt(NOISE_A * clean + NOISE_B) * noise).clamp(0, 1) * 255) / 255
    return noisy, clean


def cls_batch(photos, rng, batch):
    xs, ys = [], []
    for i in range(batch):
        p, _ = cls_patch(photos[int(rng.integers(len(photos)))], rng)
        if rng.integers(2):
            p = p[:, ::-1]  # a mirror keeps "up" where it was
        k = i % len(CLASSES)
        xs.append(np.rot90(p, k))
        ys.append(k)
    x = torch.from_numpy(np.stack(xs).astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(ys)


def psnr_per_image(a, b):
    mse = ((a.double() - b.double()) ** 2).flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse)


def cosine_lr(opt, step, steps, lr0, lr_min=1e-5):
    lr = lr_min + 0.5 * (lr0 - lr_min) * (1 + np.cos(np.pi * step / steps))
    for g in opt.param_groups:
        g["lr"] = lr


def train_denoiser(name, model, photos, steps, batch=16, crop=64, lr=1e-3, seed=0):
    torch.manual_seed(SEED + seed)
    rng = np.random.default_rng([SEED, 10, seed])
    gen = torch.Generator().manual_seed(SEED + 100 + seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    t0, c0, run = time.time(), time.process_time(), 0.0
    for step in range(steps):
        cosine_lr(opt, step, steps, lr)
        noisy, clean = denoise_batch(photos, rng, gen, batch, crop)
        loss = F.mse_loss(model(noisy), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run = 0.98 * run + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % max(1, steps // 8) == 0:
            print(f"  [{name}] step {step + 1}/{steps}  loss {run:.5f}  "
                  f"(~{10 * np.log10(1 / run):.2f} dB)  {time.time() - t0:.0f}s", flush=True)
    model.eval()
    return time.time() - t0, time.process_time() - c0


def train_classifier(model, photos, steps, batch=64, lr=2e-3, seed=3):
    torch.manual_seed(SEED + seed)
    rng = np.random.default_rng([SEED, 10, seed])
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    model.train()
    t0, c0, run = time.time(), time.process_time(), 0.0
    for step in range(steps):
        cosine_lr(opt, step, steps, lr)
        x, y = cls_batch(photos, rng, batch)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run = 0.98 * run + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % max(1, steps // 8) == 0:
            print(f"  [classifier] step {step + 1}/{steps}  loss {run:.4f}  {time.time() - t0:.0f}s", flush=True)
    model.eval()
    return time.time() - t0, time.process_time() - c0


# ----------------------------------------------------------------------------- export

def inline_identity_initializers(m):
    """torch shares equal tensors (a fresh BN's running_var equals its weight) through Identity
    nodes; give each its own initializer so every weight is a plain initializer."""
    inits = {t.name: t for t in m.graph.initializer}
    keep = []
    for node in m.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[node.input[0]])
            t.name = node.output[0]
            m.graph.initializer.append(t)
        else:
            keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)


def export(model, example, path, spatial_dynamic):
    model.eval()
    axes = {0: "batch", 2: "height", 3: "width"} if spatial_dynamic else {0: "batch"}
    out_axes = axes if spatial_dynamic else {0: "batch"}
    # PRESERVE on an eval-mode model keeps BatchNormalization (training_mode=0) as its own node;
    # TrainingMode.EVAL would fold it into the preceding Conv, and pruning must see it.
    torch.onnx.export(model, example, str(path), opset_version=OPSET, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": axes, "output": out_axes},
                      do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
    m = onnx.load(str(path))
    inline_identity_initializers(m)
    m.doc_string = "QUBO Prune test fixture, made by tools/make_fixtures.py"
    onnx.checker.check_model(m, full_check=True)
    onnx.save_model(m, str(path))
    return m


def op_types(m):
    return sorted({n.op_type for n in m.graph.node})


def write_f32(path, t):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(t.detach().numpy().astype("<f4").tobytes())


# ----------------------------------------------------------------------------- docs

def data_readme(photos, manifest):
    used = {s: sorted({e["photo"] for e in manifest["denoise"][s]}) for s in ("calib", "val", "test")}
    lines = [
        "# Test images",
        "",
        "Made by `tools/make_fixtures.py` (see its header for the set-up command). Do not edit by hand;",
        "re-run the script instead. Crop positions are in `manifest.json`.",
        "",
        "## Denoising pairs: `{calib,val,test}/{noisy,clean}/NNN.png`",
        "",
        f"128x128 RGB 8-bit crops, {SPLIT_SIZES['calib']} calib / {SPLIT_SIZES['val']} val / "
        f"{SPLIT_SIZES['test']} test pairs; same file name = same crop. Each photograph belongs to one split only",
        f"(calib: {', '.join(used['calib'])}; val: {', '.join(used['val'])}; test: {', '.join(used['test'])}).",
        "Crops do not overlap and are not flat (pixel std >= 0.04).",
        "",
        "Noise: camera-like, signal-dependent Poisson-Gaussian, applied to the 8-bit clean crop x/255:",
        "",
        f"    y = x + sqrt(a*x + b) * n,   n ~ N(0,1),   a = {NOISE_A},  b = {NOISE_B}",
        "",
        "then clipped to [0,1] and rounded to 8 bits. Metrics read both PNGs and divide by 255.",
        "",
        "## Rotation classification: `../cls/{calib,val,test}/<class>/NNN.png`",
        "",
        "32x32 RGB patches, box-downscaled (factor 2-5) from 64-160 px squares. Unlike the denoising pairs,",
        "they come from all nine photographs, split by column strips of each photograph (calib: left 60%,",
        "val: next 20%, test: right 20%; patches never cross a strip), because a rotation classifier trained",
        "on five photographs alone memorises them and stays at chance on unseen photographs.",
        "Class `rotK` = the patch was turned K degrees counter-clockwise (numpy `rot90`, K/90 times);",
        "the task is to tell which way is up. Classes are balanced: "
        f"{CLS_SIZES['calib']} calib / {CLS_SIZES['val']} val / {CLS_SIZES['test']} test patches.",
        "",
        "## Sources and licences",
        "",
        "| key | denoise split | Debian package | file | licence | credit |",
        "|---|---|---|---|---|---|",
    ]
    for p in photos:
        note = f" (box-downscaled x{p['down']})" if p["down"] > 1 else ""
        lines.append(f"| {p['key']} | {p['split']} | {p['package']} | `{p['path']}`{note} | {p['licence']} | {p['credit']} |")
    lines += [
        "",
        "libjxl-testdata's copyright file: the package as a whole is BSD-3-Clause (\"Copyright the JPEG XL",
        "Project Authors\"); `external/wesaturate/*` (photos from wesaturate.com) are CC0. The licence texts",
        "are in `/usr/share/doc/libjxl-testdata/copyright`.",
        "",
        "scikit-image's images: the licence of each photograph is stated in the docstring of its",
        "`skimage.data` function (astronaut: public domain, NASA; coffee and chelsea: CC0 by the",
        "photographers; rocket: public domain, SpaceX). scikit-image itself is BSD-3-Clause",
        "(`/usr/share/doc/python3-skimage/copyright`).",
        "",
    ]
    (FIX / "data" / "README.md").write_text("\n".join(lines))


# ----------------------------------------------------------------------------- main

# Fixed step counts (not time budgets) keep the run deterministic; each is 3-5 CPU minutes here.
STEPS = {"dncnn": 1400, "halfunet": 1400, "unet": 1200, "classifier": 3000}
CROPS = {"dncnn": 48, "halfunet": 64, "unet": 64}  # DnCNN works at full resolution: smaller crops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", choices=["all", "data"], default="all")
    ap.add_argument("--steps-scale", type=float, default=1.0,
                    help="multiply every training length (for smoke runs; default fixtures use 1)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)

    photos = []
    for key, pkg, path, split, down, lic, credit in PHOTOS:
        if not path.exists():
            raise SystemExit(f"missing {path}: install the set-up packages (see this file's header)")
        photos.append({"key": key, "package": pkg, "path": str(path), "split": split, "down": down,
                       "licence": lic, "credit": credit, "img": load_photo(path, down)})
    t0 = time.time()
    manifest = make_data(photos)
    data_readme(photos, manifest)
    print(f"data written in {time.time() - t0:.1f}s")
    if args.stage == "data":
        return

    calib_imgs = [p["img"] for p in photos if p["split"] == "calib"]
    cls_imgs = [cls_strip(p["img"], "calib")[0] for p in photos]
    steps = {k: max(1, int(round(v * args.steps_scale))) for k, v in STEPS.items()}
    test_noisy, test_clean, test_names = load_pairs("test")
    val_noisy, val_clean, _ = load_pairs("val")
    results, timings = {}, {}

    for i, (name, ctor) in enumerate([("dncnn", DnCNN), ("halfunet", HalfUNet), ("unet", UNet)]):
        torch.manual_seed(SEED + 50 + i)
        model = ctor()
        print(f"training {name} ({sum(p.numel() for p in model.parameters())} params, {steps[name]} steps)")
        timings[name] = train_denoiser(name, model, calib_imgs, steps[name], crop=CROPS[name], seed=i)
        with torch.no_grad():
            out_t = model(test_noisy)
            out_v = model(val_noisy)
        export(model, test_noisy[:1], FIX / f"{name}.onnx", spatial_dynamic=True)
        with torch.no_grad():
            ref_out = model(test_noisy[:1])
        write_f32(FIX / "ref" / f"{name}.input.bin", test_noisy[:1])
        write_f32(FIX / "ref" / f"{name}.output.bin", ref_out)
        results[name] = {
            "task": "denoise",
            "metrics": {
                "test_psnr_noisy_db": psnr_per_image(test_noisy, test_clean).mean().item(),
                "test_psnr_model_db": psnr_per_image(out_t, test_clean).mean().item(),
                "test_psnr_model_clamped_db": psnr_per_image(out_t.clamp(0, 1), test_clean).mean().item(),
                "val_psnr_noisy_db": psnr_per_image(val_noisy, val_clean).mean().item(),
                "val_psnr_model_db": psnr_per_image(out_v, val_clean).mean().item(),
            },
            "ref_source": f"data/test/noisy/{test_names[0]}",
            "params": sum(p.numel() for p in model.parameters()),
            "shape": [1, 3, PATCH, PATCH],
            "dynamic_axes": ["batch", "height", "width"],
        }
        if name == "halfunet":
            halfunet = model

    cls_x, cls_y, cls_files = load_cls("test")
    val_x, val_y, _ = load_cls("val")
    torch.manual_seed(SEED + 60)
    clf = RotNet()
    print(f"training classifier ({sum(p.numel() for p in clf.parameters())} params, {steps['classifier']} steps)")
    timings["classifier"] = train_classifier(clf, cls_imgs, steps["classifier"])
    with torch.no_grad():
        acc_t = (clf(cls_x).argmax(1) == cls_y).double().mean().item()
        acc_v = (clf(val_x).argmax(1) == val_y).double().mean().item()
        ref_out = clf(cls_x[:1])
    export(clf, cls_x[:1], FIX / "classifier.onnx", spatial_dynamic=False)
    write_f32(FIX / "ref" / "classifier.input.bin", cls_x[:1])
    write_f32(FIX / "ref" / "classifier.output.bin", ref_out)
    results["classifier"] = {
        "task": "classify",
        "metrics": {"test_accuracy": acc_t, "val_accuracy": acc_v, "chance": 1.0 / len(CLASSES)},
        "classes": CLASSES,
        "ref_source": cls_files[0],
        "params": sum(p.numel() for p in clf.parameters()),
        "shape": [1, 3, CLS_PATCH, CLS_PATCH],
        "dynamic_axes": ["batch"],
    }

    # Same weights as halfunet.onnx, stored beside the graph, to test external-data loading.
    ext_path, ext_data = FIX / "halfunet_ext.onnx", FIX / "halfunet_ext.onnx.data"
    if ext_data.exists():
        ext_data.unlink()  # onnx appends to an existing data file
    m = onnx.load(str(FIX / "halfunet.onnx"))
    onnx.save_model(m, str(ext_path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=ext_data.name, size_threshold=0)
    onnx.checker.check_model(str(ext_path), full_check=True)
    results["halfunet_ext"] = dict(results["halfunet"], external_data=ext_data.name,
                                   ref_source=results["halfunet"]["ref_source"])

    models = {}
    for name, r in results.items():
        base = "halfunet" if name == "halfunet_ext" else name
        m = onnx.load(str(FIX / f"{name}.onnx"))
        entry = {
            "file": f"{name}.onnx",
            "task": r["task"],
            "params": r["params"],
            "input_name": "input",
            "output_name": "output",
            "input_shape": r["shape"],
            "dynamic_axes": r["dynamic_axes"],
            "opset": OPSET,
            "op_types": op_types(m),
            "metrics": {k: round(v, 4) for k, v in r["metrics"].items()},
            "ref": {
                "input": f"ref/{base}.input.bin",
                "output": f"ref/{base}.output.bin",
                "input_shape": r["shape"],
                "output_shape": [1, len(CLASSES)] if r["task"] == "classify" else r["shape"],
                "dtype": "float32-le",
                "source": r["ref_source"],
            },
        }
        if "classes" in r:
            entry["classes"] = r["classes"]
        if "external_data" in r:
            entry["external_data"] = r["external_data"]
        models[name] = entry

    meta = {
        "generator": "tools/make_fixtures.py",
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                     "skimage": skimage.__version__},
        "noise": {"model": "y = clip(x + sqrt(a*x + b)*n, 0, 1) quantised to 8 bits, n ~ N(0,1)",
                  "a": NOISE_A, "b": NOISE_B},
        "psnr": ("10*log10(1/MSE) per image on [0,1] (8-bit PNGs / 255), averaged over the split's images; "
                 "'model' uses the raw float output, 'clamped' clips it to [0,1] first"),
        "splits": {"denoise": SPLIT_SIZES, "cls": CLS_SIZES},
        "models": models,
    }
    with open(FIX / "models.json", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    print("\nsummary")
    for name, e in models.items():
        size = (FIX / e["file"]).stat().st_size
        if "external_data" in e:
            size += (FIX / e["external_data"]).stat().st_size
        t = timings.get(name)
        print(f"  {name:13s} {e['params']:7d} params  {size / 1024:7.1f} KiB  "
              f"{'train %.0fs wall %.0fs cpu' % t if t else '':24s} {e['metrics']}")
        print(f"  {'':13s} ops: {' '.join(e['op_types'])}")


if __name__ == "__main__":
    sys.exit(main())
