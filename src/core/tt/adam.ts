/** Adam (Kingma & Ba 2015) over a list of parameter arrays, stepping in the ascent direction. */
export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;

  constructor(
    private readonly params: Float64Array[],
    private readonly lr = 5e-2,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }

  /** params += lr · m̂ / (√v̂ + eps), i.e. one step that increases the objective whose gradient is given. */
  ascend(grad: Float64Array[]): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const g = grad[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const mi = this.beta1 * m[i]! + (1 - this.beta1) * gi;
        const vi = this.beta2 * v[i]! + (1 - this.beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i]! + (this.lr * (mi / c1)) / (Math.sqrt(vi / c2) + this.eps);
      }
    }
  }
}
