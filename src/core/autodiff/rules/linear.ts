import { attrFloat, attrInt } from '../../onnx';
import type { RuleTable } from './types';

function swapLast(r: number): number[] {
  const p = Array.from({ length: r }, (_, i) => i);
  [p[r - 2], p[r - 1]] = [p[r - 1]!, p[r - 2]!];
  return p;
}

export const linearRules: RuleTable = {
  Gemm: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      const [A, B, C] = node.input as [string, string, string | undefined];
      const dy = dY[0]!;
      const alpha = { float: attrFloat(node, 'alpha', 1) };
      const beta = attrFloat(node, 'beta', 1);
      const tA = attrInt(node, 'transA', 0);
      const tB = attrInt(node, 'transB', 0);
      // Y = α·A'·B' + β·C with A' = tA ? Aᵀ : A, B' likewise.
      let dA: string | undefined;
      if (need[0]) {
        dA = tA
          ? e.op1('Gemm', [B, dy], { alpha, transA: tB, transB: 1 }) // (α·dY·B'ᵀ)ᵀ = α·B'·dYᵀ
          : e.op1('Gemm', [dy, B], { alpha, transB: tB ? 0 : 1 }); // α·dY·B'ᵀ
      }
      let dB: string | undefined;
      if (need[1]) {
        dB = tB
          ? e.op1('Gemm', [dy, A], { alpha, transA: 1, transB: tA }) // (α·A'ᵀ·dY)ᵀ = α·dYᵀ·A'
          : e.op1('Gemm', [A, dy], { alpha, transA: tA ? 0 : 1 }); // α·A'ᵀ·dY
      }
      const dC = need[2] && C ? e.mulScalar(ctx.reduceTo(dy, node.output[0]!, C), beta) : undefined;
      return [dA, dB, dC];
    },
  },
  MatMul: {
    outputs: [0],
    backward: (ctx, node, dY, need) => {
      const { e } = ctx;
      const [A, B] = node.input as [string, string];
      const dy = dY[0]!;
      const ra = ctx.rank(A, node);
      const rb = ctx.rank(B, node);
      if (ra < 2) ctx.fail(node, 'no-gradient-rule', 'MatMul with a 1-D first operand has no backward rule');
      const aDims = ctx.shapes.get(A)!;
      const bDims = ctx.shapes.get(B)!;
      const yDims = ctx.shapes.get(node.output[0]!);
      let dA: string | undefined;
      let dB: string | undefined;
      if (rb === 1) {
        // Y[..., m] = Σ_k A[..., m, k]·b[k]
        const col = e.unsqueeze(dy, [ra - 1]);
        if (need[0]) dA = e.mul(col, B);
        if (need[1]) dB = ctx.reduceTo(e.mul(col, A), aDims, B);
        return [dA, dB];
      }
      if (need[0]) {
        const g = e.op1('MatMul', [dy, e.op1('Transpose', [B], { perm: swapLast(rb) })]);
        dA = ctx.reduceTo(g, yDims ? [...yDims.slice(0, -1), aDims[ra - 1]!] : undefined, A);
      }
      if (need[1]) {
        const g = e.op1('MatMul', [e.op1('Transpose', [A], { perm: swapLast(ra) }), dy]);
        dB = ctx.reduceTo(g, yDims ? [...yDims.slice(0, -2), bDims[rb - 2]!, yDims[yDims.length - 1]!] : undefined, B);
      }
      return [dA, dB];
    },
  },
};
