// Running an image-to-image model on an image too large for its activations to fit in memory:
// overlapping tiles, each tile's border (where the model saw padding instead of neighbours)
// discarded and the interiors stitched. With an overlap at least the model's receptive-field
// radius the result equals the whole-image run; beyond it the seams differ slightly.
import { ort } from '../runtime/session';

export interface TileSpec {
  size: number;
  overlap: number;
}

/** Tile origins along one axis of `length`: the last tile ends at the edge, so none is smaller. */
export function tileStarts(length: number, size: number, overlap: number): number[] {
  if (size >= length) return [0];
  const stride = size - 2 * overlap;
  if (stride < 1) throw new RangeError(`tile ${size} leaves no interior with overlap ${overlap}`);
  const starts: number[] = [];
  for (let s = 0; s + size < length; s += stride) starts.push(s);
  starts.push(length - size);
  return starts;
}

/**
 * Output of `session` on one [1, C, H, W] image, run tile by tile. Each output pixel comes from
 * the tile where it lies farthest from a cut edge (the split point is the middle of the overlap).
 */
export async function runTiled(session: ort.InferenceSession, image: Float32Array, shape: readonly [number, number, number, number], tile: TileSpec): Promise<{ data: Float32Array; dims: number[] }> {
  const [, C, H, W] = shape;
  const ys = tileStarts(H, tile.size, tile.overlap);
  const xs = tileStarts(W, tile.size, tile.overlap);
  const th = Math.min(tile.size, H);
  const tw = Math.min(tile.size, W);
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  let out: Float32Array | undefined;
  let OC = 0;
  // Ownership of each row/column: from halfway into the overlap with the previous tile to halfway into the next.
  const owned = (starts: number[], i: number, len: number, total: number): [number, number] => {
    const lo = i === 0 ? 0 : Math.ceil((starts[i]! + starts[i - 1]! + len) / 2);
    const hi = i === starts.length - 1 ? total : Math.ceil((starts[i + 1]! + starts[i]! + len) / 2);
    return [lo, hi];
  };
  const buf = new Float32Array(C * th * tw);
  for (let iy = 0; iy < ys.length; iy++) {
    for (let ix = 0; ix < xs.length; ix++) {
      const y0 = ys[iy]!;
      const x0 = xs[ix]!;
      for (let c = 0; c < C; c++) for (let y = 0; y < th; y++) buf.set(image.subarray(c * H * W + (y0 + y) * W + x0, c * H * W + (y0 + y) * W + x0 + tw), (c * th + y) * tw);
      const r = (await session.run({ [input]: new ort.Tensor('float32', buf, [1, C, th, tw]) }))[output]!;
      const y = r.data as Float32Array;
      if (r.dims.length !== 4 || r.dims[2] !== th || r.dims[3] !== tw) throw new RangeError(`tiled evaluation needs an output of the input's size; got [${r.dims.join(', ')}] for a ${th}×${tw} tile`);
      if (!out) {
        OC = r.dims[1]!;
        out = new Float32Array(OC * H * W);
      }
      const [ry0, ry1] = owned(ys, iy, th, H);
      const [rx0, rx1] = owned(xs, ix, tw, W);
      for (let c = 0; c < OC; c++) {
        for (let gy = ry0; gy < ry1; gy++) {
          const src = (c * th + (gy - y0)) * tw - x0;
          out.set(y.subarray(src + rx0, src + rx1), c * H * W + gy * W + rx0);
        }
      }
    }
  }
  return { data: out!, dims: [1, OC, H, W] };
}
