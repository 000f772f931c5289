// Appends nodes and constants to a graph under unique names, hiding the op-signature changes
// between opsets 11 and 21 (axes as attribute vs input, Shape start/end, ...).
import type { NodeProto, TensorProto } from 'onnx-buf';
import { DataType, int64Tensor, makeNode, makeTensor, type AttrValue } from '../onnx';

export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;
  private constCache = new Map<string, string>();
  private shapeCache = new Map<string, string>();

  constructor(
    readonly opset: number,
    private readonly used: Set<string>,
    private readonly prefix = 'grad',
  ) {}

  /** A tensor or node name not used anywhere in the graph. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}:${hint}:${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Claims an exact name (for graph outputs), adding a suffix if it is taken. */
  claim(name: string): string {
    let n = name;
    for (let k = 1; this.used.has(n); k++) n = `${name}_${k}`;
    this.used.add(n);
    return n;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    this.nodes.push(makeNode(opType, inputs, outs, this.fresh(`${opType}_node`), attrs));
    return outs;
  }

  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue | undefined> = {}): string {
    return this.op(opType, inputs, attrs, 1)[0]!;
  }

  constI64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64[${dims.join(',')}]${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(int64Tensor(name, values, dims));
      this.constCache.set(key, name);
    }
    return name;
  }

  constF32(values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    const small = values.length <= 64;
    const key = small ? `f32[${dims.join(',')}]${Array.from(values).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const name = this.fresh('const');
    this.initializers.push(makeTensor(name, dims, Float32Array.from(values), DataType.FLOAT));
    if (small) this.constCache.set(key, name);
    return name;
  }

  scalarF(v: number): string {
    return this.constF32([v], []);
  }

  /** Shape of a tensor (one Shape node per tensor). */
  shape(t: string): string {
    let s = this.shapeCache.get(t);
    if (!s) {
      s = this.op1('Shape', [t]);
      this.shapeCache.set(t, s);
    }
    return s;
  }

  /** Dims start..end of a tensor's shape, as a 1-D int64 tensor. */
  shapeSlice(t: string, start: number, end?: number): string {
    if (this.opset >= 15) return this.op1('Shape', [t], { start, end });
    const ends = this.constI64([end ?? 2 ** 62]);
    return this.op1('Slice', [this.shape(t), this.constI64([start]), ends, this.constI64([0])]);
  }

  zerosLike(t: string): string {
    return this.op1('ConstantOfShape', [this.shape(t)], { value: makeTensor('value', [1], Float32Array.of(0), DataType.FLOAT) });
  }

  reduce(op: string, x: string, axes: readonly number[], keepdims: boolean): string {
    const axesAsInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    if (axesAsInput) return this.op1(op, [x, this.constI64(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op1(op, [x], { axes: [...axes], keepdims: keepdims ? 1 : 0 });
  }

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }

  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op1('Unsqueeze', [x, this.constI64(axes)]);
    return this.op1('Unsqueeze', [x], { axes: [...axes] });
  }

  squeeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op1('Squeeze', [x, this.constI64(axes)]);
    return this.op1('Squeeze', [x], { axes: [...axes] });
  }

  reshape(x: string, shape: string | readonly number[]): string {
    return this.op1('Reshape', [x, typeof shape === 'string' ? shape : this.constI64(shape)]);
  }

  /** Reshape to another tensor's (run-time) shape. */
  reshapeLike(x: string, like: string): string {
    return this.reshape(x, this.shape(like));
  }

  mul(a: string, b: string): string {
    return this.op1('Mul', [a, b]);
  }

  mulScalar(a: string, v: number): string {
    return v === 1 ? a : this.op1('Mul', [a, this.scalarF(v)]);
  }
}
