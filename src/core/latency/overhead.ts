// A session run has a fixed cost that has nothing to do with the layer inside it: binding the
// feed, allocating and returning the output, the executor's bookkeeping. Timed as one-node graphs,
// small convs measure mostly that cost, so per-layer tables summed to more than the whole model
// (issue 15). An Identity graph over the same input carries the same cost and nothing else; its
// median is subtracted from every probe of that input shape.
import { makeModel, makeNode, makeValueInfo, serializeModelProto } from '../onnx';

/** One Identity node from x to y: the session-run cost of feeding and fetching a tensor of `shape`. */
export function identityProbeModel(shape: readonly number[]): Uint8Array {
  return serializeModelProto(
    makeModel({
      nodes: [makeNode('Identity', ['x'], ['y'], 'overhead')],
      inputs: [makeValueInfo('x', [...shape])],
      outputs: [makeValueInfo('y')],
      initializers: [],
    }),
  );
}

/**
 * The layer's own time: the probe's median less the overhead's. Never negative (two medians of
 * noisy timings can cross for a layer that costs next to nothing); 0 means "below what the clock
 * resolves against the overhead", which the fit treats as a measured zero.
 */
export function layerMs(probeMedianMs: number, overheadMedianMs: number): number {
  if (!(probeMedianMs >= 0 && overheadMedianMs >= 0)) throw new RangeError(`timings must be non-negative, got ${probeMedianMs} and ${overheadMedianMs} ms`);
  return Math.max(0, probeMedianMs - overheadMedianMs);
}
