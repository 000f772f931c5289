import { DataType, attrFloat, attrInt, makeTensor } from '../../onnx';
import type { RuleTable } from './types';

type Emitter = Parameters<NonNullable<RuleTable[string]>['backward']>[0]['e'];

/**
 * dx of y = γ·(x − μ)/σ with μ, σ over `axes` (instance and layer normalisation):
 * x̂ = (x − μ)/σ; dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = γ·dy.
 */
function normalizeBackward(e: Emitter, x: string, gamma: string, dy: string, axes: number[], eps: number): string {
  const mu = e.reduceMean(x, axes, true);
  const d = e.op1('Sub', [x, mu]);
  const v = e.reduceMean(e.mul(d, d), axes, true);
  const rstd = e.op1('Reciprocal', [e.op1('Sqrt', [e.op1('Add', [v, e.scalarF(eps)])])]);
  const xh = e.mul(d, rstd);
  const g = e.mul(dy, gamma);
  const mg = e.reduceMean(g, axes, true);
  const mgx = e.reduceMean(e.mul(g, xh), axes, true);
  return e.mul(rstd, e.op1('Sub', [e.op1('Sub', [g, mg]), e.mul(xh, mgx)]));
}

function onesLike(e: Emitter, t: string): string {
  return e.op1('ConstantOfShape', [e.shape(t)], { value: makeTensor('value', [1], Float32Array.of(1), DataType.FLOAT) });
}

export const normRules: RuleTable = {
  BatchNormalization: {
    outputs: [0],
    // Mean and variance are running statistics: constants, never trained (inference form).
    inputs: () => [0, 1, 2],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      if (attrInt(node, 'training_mode', 0) !== 0 || node.output.filter((o) => o).length > 1) {
        ctx.fail(node, 'unsupported-attribute', 'BatchNormalization in training mode (batch statistics) has no backward rule; export the model in eval mode');
      }
      const [x, scale, , mean, variance] = node.input as string[];
      const eps = { float: attrFloat(node, 'epsilon', 1e-5) };
      const out: (string | undefined)[] = [];
      const m = ctx.model.constant(mean!);
      const zeros = m ? e.constF32(new Float32Array(m.data.length), m.dims) : e.zerosLike(mean!);
      // Inference BN is x·γ/√(σ²+ε) + const per channel; the same op with zero mean and shift
      // applies exactly that factor to dy, whatever the rank, with γ and σ² as the model has them.
      if (need[0]) out[0] = e.op1('BatchNormalization', [dY[0]!, scale!, zeros, zeros, variance!], { epsilon: eps });
      const axes = [0, ...Array.from({ length: ctx.rank(x!, node) - 2 }, (_, i) => i + 2)];
      if (need[1]) {
        // x̂ = (x − μ)/√(σ²+ε) is the same op with unit scale and zero shift.
        const ones = m ? e.constF32(new Float32Array(m.data.length).fill(1), m.dims) : onesLike(e, mean!);
        const xh = e.op1('BatchNormalization', [x!, ones, zeros, mean!, variance!], { epsilon: eps });
        out[1] = e.reduceSum(e.mul(dY[0]!, xh), axes, false);
      }
      if (need[2]) out[2] = e.reduceSum(dY[0]!, axes, false);
      return out;
    },
  },
  InstanceNormalization: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      const [x, scale, bias] = node.input as [string, string, string];
      const r = ctx.rank(x, node);
      const axes = Array.from({ length: r - 2 }, (_, i) => i + 2);
      const eps = attrFloat(node, 'epsilon', 1e-5);
      const sc = ctx.model.constant(scale);
      const channelShape = [-1, ...new Array(r - 2).fill(1)];
      const out: (string | undefined)[] = [];
      if (need[0]) {
        const gamma = sc ? e.constF32(sc.data as Float32Array, [sc.data.length, ...new Array(r - 2).fill(1)]) : e.reshape(scale, channelShape);
        out[0] = normalizeBackward(e, x, gamma, dY[0]!, axes, eps);
      }
      const sumAxes = [0, ...axes];
      if (need[1]) {
        const xh = e.op1('InstanceNormalization', [x, onesLike(e, scale), e.zerosLike(bias)], { epsilon: { float: eps } });
        out[1] = e.reduceSum(e.mul(dY[0]!, xh), sumAxes, false);
      }
      if (need[2]) out[2] = e.reduceSum(dY[0]!, sumAxes, false);
      return out;
    },
  },
  // ConvNeXt's LayerNorm over channels: once its Linear layers are gated, gates of earlier
  // blocks reach the loss through it. Same algebra as InstanceNorm over the axes from `axis` on;
  // the scale has exactly those trailing dims, so it broadcasts as it is.
  LayerNormalization: {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      if (node.output.slice(1).some((o) => o && ctx.model.consumers(o).length > 0)) {
        ctx.fail(node, 'unsupported-attribute', 'LayerNormalization whose Mean/InvStdDev outputs are used has no backward rule');
      }
      const [x, scale] = node.input as [string, string];
      const r = ctx.rank(x, node);
      const a = attrInt(node, 'axis', -1);
      const from = a < 0 ? a + r : a;
      const axes = Array.from({ length: r - from }, (_, i) => i + from);
      return [normalizeBackward(e, x, scale, dY[0]!, axes, attrFloat(node, 'epsilon', 1e-5))];
    },
  },
};
