// Ops that read or build shapes rather than feature maps. Reading a map's shape is harmless while
// only its batch or spatial entries are used; Size, and ops that build constants from a feature
// map's shape, lock.
import type { NodeProto } from 'onnx-buf';
import { attr, attrInt } from '../../onnx';
import { intValues, normAxis, sliceRange } from './shapeMath';
import { forOps, type AnalysisContext, type RuleTable } from './types';

/** Ops that only build constants or shapes; they never see feature maps in the models we target. */
export const SHAPE_OPS = ['Constant', 'ConstantOfShape', 'Range', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike'];

function shape(ctx: AnalysisContext, node: NodeProto): void {
  const X = node.input[0]!;
  const x = ctx.slots(X)!;
  const start = normAxis(attrInt(node, 'start', 0), x.rank);
  const end = attr(node, 'end') ? normAxis(attrInt(node, 'end', x.rank), x.rank) : x.rank;
  if (start > 1 || end <= 1) return;
  const chanIndex = 1 - start;
  const harmless = ctx.model.consumers(node.output[0]!).every(({ node: c, inputIndex }) => {
    if (inputIndex !== 0) return false;
    if (c.opType === 'Gather' && attrInt(c, 'axis', 0) === 0) {
      const idx = intValues(ctx.g.konst(c.input[1]));
      return !!idx && idx.every((i) => normAxis(i, end - start) !== chanIndex);
    }
    if (c.opType === 'Slice') {
      const s = intValues(ctx.g.konst(c.input[1]));
      const e = intValues(ctx.g.konst(c.input[2]));
      const st = c.input[4] ? intValues(ctx.g.konst(c.input[4])) : [1];
      if (!s || !e || !st || st[0] !== 1) return false;
      const r = sliceRange(s[0]!, e[0]!, 1, end - start);
      return !!r && (r.end <= chanIndex || r.start > chanIndex);
    }
    return false;
  });
  if (!harmless) {
    ctx.g.lockTensor(X, 'channel-mixing', `the channel count of '${X}' is read by Shape '${node.name}' and used in a way the analysis cannot follow`);
  }
}

export const shapeRules: RuleTable = {
  Shape: shape,
  Size: (ctx, node) => ctx.lockNode(node, 'channel-mixing', `Size '${node.name}' reads the element count of '${node.input[0]}', which depends on its channels`),
  ...forOps(SHAPE_OPS, (ctx, node) => ctx.lockNode(node, 'unresolved', `${node.opType} '${node.name}' builds a tensor from a feature map's shape`)),
};
