// Backward rules of the linear reductions. ReduceSum spreads dy back over the reduced axes;
// ReduceMean does the same and divides by the number of reduced elements. The axes come from the
// attribute (ReduceSum before opset 13, ReduceMean before 18) or from a constant second input.
import type { NodeProto } from 'onnx-buf';
import { DataType, attrInt } from '../../onnx';
import { reduceAxes } from '../shapes';
import type { GradRule, RuleContext } from './types';

function reduceBackward(mean: boolean): GradRule {
  return {
    inputs: () => [0],
    outputs: [0],
    backward: (ctx: RuleContext, node: NodeProto, dY, need) => {
      if (!need[0]) return [];
      const { e } = ctx;
      const x = node.input[0]!;
      const dy = dY[0]!;
      const found = reduceAxes(ctx.model, node);
      if (found === 'dynamic') ctx.fail(node, 'unsupported-attribute', `${node.opType} with run-time axes has no backward rule (constant axes are covered)`);
      const axesList = found as number[] | undefined;
      // Empty axes: every axis, or nothing at all with noop_with_empty_axes.
      if (!axesList || axesList.length === 0) {
        if (attrInt(node, 'noop_with_empty_axes', 0) === 1) return [dy];
      }
      const r = ctx.rank(x, node);
      const axes = !axesList || axesList.length === 0 ? Array.from({ length: r }, (_, i) => i) : [...new Set(axesList.map((a) => (a < 0 ? a + r : a)))].sort((a, b) => a - b);
      const keep = attrInt(node, 'keepdims', 1) === 1;
      let g = keep ? dy : e.unsqueeze(dy, axes);
      if (mean) {
        const dims = ctx.shapes.get(x);
        const known = dims && axes.every((a) => typeof dims[a] === 'number');
        if (known) {
          g = e.mulScalar(g, 1 / axes.reduce((p, a) => p * (dims![a] as number), 1));
        } else {
          const sizes = e.op1('Gather', [e.shape(x), e.constI64(axes)], { axis: 0 });
          const count = e.op1('Cast', [e.op1('ReduceProd', [sizes], { keepdims: 0 })], { to: DataType.FLOAT });
          g = e.op1('Div', [g, count]);
        }
      }
      return [e.op1('Expand', [g, e.shape(x)])];
    },
  };
}

export const reduceRules = {
  ReduceSum: reduceBackward(false),
  ReduceMean: reduceBackward(true),
};
