import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClassifyMetrics,
  DenoiseMetrics,
  MetricError,
  crossEntropy,
  crossEntropyPerSample,
  meanPsnr,
  psnr,
  psnrPerImage,
  ssim,
  ssimChannel,
  top1Accuracy,
  topKAccuracy,
} from '../../src/core/metrics';
import { Rng } from '../../src/core/util/rng';

const close = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

function randomImage(n: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: n }, () => r.next());
}

/** SSIM by the definition: a full 2-D Gaussian window at every valid position, no separability. */
function bruteSsim(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number): number {
  const win = 11;
  const sigma = 1.5;
  const wts: number[][] = [];
  let total = 0;
  for (let i = 0; i < win; i++) {
    wts.push([]);
    for (let j = 0; j < win; j++) {
      const v = Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / (2 * sigma * sigma));
      wts[i]!.push(v);
      total += v;
    }
  }
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  let sum = 0;
  let count = 0;
  for (let y = 0; y + win <= h; y++) {
    for (let x = 0; x + win <= w; x++) {
      let mx = 0;
      let my = 0;
      for (let i = 0; i < win; i++)
        for (let j = 0; j < win; j++) {
          const g = wts[i]![j]! / total;
          mx += g * a[(y + i) * w + x + j]!;
          my += g * b[(y + i) * w + x + j]!;
        }
      let vx = 0;
      let vy = 0;
      let cxy = 0;
      for (let i = 0; i < win; i++)
        for (let j = 0; j < win; j++) {
          const g = wts[i]![j]! / total;
          const dx = a[(y + i) * w + x + j]! - mx;
          const dy = b[(y + i) * w + x + j]! - my;
          vx += g * dx * dx;
          vy += g * dy * dy;
          cxy += g * dx * dy;
        }
      sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return sum / count;
}

/** The images used for the scipy reference values below (same formulas in Python). */
function refPair(h: number, w: number, c: number): [Float64Array, Float64Array] {
  const a = new Float64Array(h * w);
  const b = new Float64Array(h * w);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++) {
      const s = (Math.sin(0.3 * i + 0.7 * j + c) + 1) / 2;
      a[i * w + j] = s;
      b[i * w + j] = s * 0.8 + 0.1 * Math.cos(1.3 * i - 0.4 * j + 2 * c) + 0.05;
    }
  return [a, b];
}

describe('PSNR', () => {
  test('identical images give +∞; means cap it at 100 dB', () => {
    const x = randomImage(300, 1);
    assert.equal(psnr(x, x), Infinity);
    const per = psnrPerImage(Float64Array.from([...x, ...x]), Float64Array.from([...x, ...x.map((v) => v + 0.1)]), 2);
    assert.equal(per[0], Infinity);
    close(per[1]!, 20, 1e-9);
    close(meanPsnr(per), 60, 1e-9);
  });

  test('a constant offset d gives −20·log10(d)', () => {
    const x = randomImage(1000, 2);
    for (const d of [0.1, 0.01, 0.0371]) {
      close(psnr(x, x.map((v) => v + d)), -20 * Math.log10(d), 1e-9, `offset ${d}`);
      close(psnr(x, x.map((v) => v - d)), -20 * Math.log10(d), 1e-9);
    }
    // float32 storage: error from rounding the offset only.
    const f = Float32Array.from(x);
    close(psnr(f, f.map((v) => v + 0.05)), -20 * Math.log10(0.05), 1e-4);
  });

  test('per-image mean vs pooled MSE', () => {
    const x = new Float64Array(200).fill(0.5);
    const y = Float64Array.from(x, (v, i) => (i < 100 ? v + 0.1 : v + 0.01));
    const m = new DenoiseMetrics({ ssim: false, clip: false });
    m.add(y, x, [2, 1, 10, 10]);
    const s = m.summary();
    close(s.psnr, (20 + 40) / 2, 1e-9);
    close(s.psnrPooled, 10 * Math.log10(1 / ((0.01 + 0.0001) / 2)), 1e-9);
    assert.ok(s.psnrPooled < s.psnr);
    assert.equal(s.count, 2);
  });

  test('shape errors', () => {
    assert.throws(() => psnr(new Float32Array(3), new Float32Array(4)), (e: unknown) => e instanceof MetricError && e.code === 'shape-mismatch');
    assert.throws(() => psnrPerImage(new Float32Array(10), new Float32Array(10), 3), (e: unknown) => e instanceof MetricError);
  });
});

describe('SSIM (Gaussian 11×11, σ 1.5, K1 0.01, K2 0.03, L 1, valid region)', () => {
  test('identical images give 1', () => {
    const x = randomImage(3 * 20 * 17, 3);
    close(ssim(x, x, [3, 20, 17]), 1, 1e-12);
  });

  test('constant images: (2μxμy + C1) / (μx² + μy² + C1)', () => {
    const [mx, my] = [0.3, 0.5];
    const a = new Float64Array(15 * 16).fill(mx);
    const b = new Float64Array(15 * 16).fill(my);
    const c1 = 1e-4;
    close(ssim(a, b, [1, 15, 16]), (2 * mx * my + c1) / (mx * mx + my * my + c1), 1e-12);
  });

  test('matches a brute-force 2-D window computation', () => {
    const h = 19;
    const w = 23;
    const a = randomImage(h * w, 4);
    const r = new Rng(5);
    const b = a.map((v) => v + 0.2 * (r.next() - 0.5));
    const want = bruteSsim(a, b, h, w);
    close(ssimChannel(a, b, h, w), want, 1e-12);
    assert.ok(want > 0.2 && want < 0.99, `non-trivial case (${want})`);
  });

  test('matches scipy.ndimage (skimage gaussian_weights=True, use_sample_covariance=False)', () => {
    // Reference values from Python: gaussian_filter(sigma=1.5, truncate=3.5) on the same images, mean of S[5:-5, 5:-5].
    const [a, b] = refPair(24, 20, 0);
    close(ssim(a, b, [1, 24, 20]), 0.9384227350644618, 1e-12);
    const pairs = [0, 1, 2].map((c) => refPair(16, 18, c));
    const A = Float64Array.from(pairs.flatMap(([x]) => [...x]));
    const B = Float64Array.from(pairs.flatMap(([, y]) => [...y]));
    close(ssim(A, B, [1, 3, 16, 18]), 0.9384330912234043, 1e-12);
  });

  test('batch mean, symmetry, and a worse image scores lower', () => {
    const a = randomImage(2 * 12 * 12, 6);
    const r = new Rng(7);
    const mild = a.map((v) => v + 0.05 * r.normal());
    const strong = a.map((v) => v + 0.3 * r.normal());
    const sMild = ssim(a, mild, [2, 1, 12, 12]);
    close(sMild, ssim(mild, a, [2, 1, 12, 12]), 1e-12);
    assert.ok(ssim(a, strong, [2, 1, 12, 12]) < sMild);
    const each = [0, 1].map((i) => ssimChannel(a, mild, 12, 12, i * 144));
    close(sMild, (each[0]! + each[1]!) / 2, 1e-12);
  });

  test('too small for the window', () => {
    assert.throws(() => ssim(new Float32Array(100), new Float32Array(100), [1, 10, 10]), (e: unknown) => e instanceof MetricError && e.code === 'too-small');
  });
});

describe('classification metrics', () => {
  test('cross-entropy of uniform logits is ln(C)', () => {
    for (const C of [2, 10, 1000]) {
      const logits = new Float32Array(3 * C).fill(0.7);
      close(crossEntropy(logits, Int32Array.from([0, 1, C - 1]), C), Math.log(C), 1e-9, `C=${C}`);
    }
  });

  test('cross-entropy of known logits, stable for large values', () => {
    close(crossEntropy(Float64Array.from([0, Math.log(3)]), [1], 2), Math.log(4 / 3), 1e-12);
    const ce = crossEntropyPerSample(Float64Array.from([1000, 0, 1000, 0]), [0, 1], 2);
    close(ce[0]!, 0, 1e-12);
    close(ce[1]!, 1000, 1e-9);
  });

  test('top-1 and top-k accuracy; ties go to the lower index', () => {
    const logits = Float32Array.from([
      0.1, 0.9, 0.0, // argmax 1
      2.0, 1.0, 3.0, // argmax 2, second 0
      0.5, 0.5, 0.1, // tie: argmax 0
      0.0, 0.0, 0.0, // all tie: argmax 0
    ]);
    close(top1Accuracy(logits, [1, 0, 1, 0], 3), 0.5, 0);
    close(top1Accuracy(logits, [1, 2, 0, 0], 3), 1, 0);
    close(top1Accuracy(logits, [1, 2, 0, 2], 3), 0.75, 0);
    close(topKAccuracy(logits, [0, 0, 1, 1], 3, 2), 1, 0);
    close(topKAccuracy(logits, [2, 1, 2, 2], 3, 2), 0, 0);
  });

  test('accumulator over batches equals one pass', () => {
    const r = new Rng(8);
    const C = 7;
    const logits = Float32Array.from({ length: 20 * C }, () => 3 * r.normal());
    const labels = Int32Array.from({ length: 20 }, () => r.nextInt(C));
    const m = new ClassifyMetrics(C);
    m.add(logits.subarray(0, 8 * C), labels.subarray(0, 8));
    m.add(logits.subarray(8 * C), labels.subarray(8));
    const s = m.summary();
    assert.equal(s.count, 20);
    close(s.top1, top1Accuracy(logits, labels, C), 1e-12);
    close(s.top5, topKAccuracy(logits, labels, C, 5), 1e-12);
    close(s.crossEntropy, crossEntropy(logits, labels, C), 1e-12);
  });

  test('bad labels and shapes', () => {
    assert.throws(() => top1Accuracy(new Float32Array(6), [0, 3], 3), (e: unknown) => e instanceof MetricError && e.code === 'bad-label');
    assert.throws(() => crossEntropy(new Float32Array(5), [0, 1], 3), (e: unknown) => e instanceof MetricError && e.code === 'shape-mismatch');
  });
});

describe('denoise accumulator', () => {
  test('batches add up, clipping applies to outputs, SSIM included', () => {
    const shape = [3, 3, 16, 16] as const;
    const n = 3 * 3 * 16 * 16;
    const target = Float32Array.from(randomImage(n, 9));
    const r = new Rng(10);
    const out = target.map((v) => v + 0.1 * r.normal());
    const whole = new DenoiseMetrics();
    whole.add(out, target, shape);
    const parts = new DenoiseMetrics();
    const per = n / 3;
    parts.add(out.subarray(0, per), target.subarray(0, per), [1, 3, 16, 16]);
    parts.add(out.subarray(per), target.subarray(per), [2, 3, 16, 16]);
    const a = whole.summary();
    const b = parts.summary();
    close(a.psnr, b.psnr, 1e-12);
    close(a.ssim, b.ssim, 1e-12);
    assert.equal(a.perImageSsim.length, 3);
    const clipped = out.map((v) => Math.min(1, Math.max(0, v)));
    close(a.psnr, meanPsnr(psnrPerImage(clipped, target, 3)), 1e-12);
    close(a.ssim, ssim(clipped, target, shape), 1e-12);
    const raw = new DenoiseMetrics({ clip: false });
    raw.add(out, target, shape);
    assert.ok(raw.summary().psnr < a.psnr, 'clipping to [0,1] can only bring outputs closer to [0,1] targets');
  });
});
