/** Growable union-find over integer ids (path halving, union by size). */
export class UnionFind {
  private parent: number[] = [];
  private size: number[] = [];

  get length(): number {
    return this.parent.length;
  }

  /** Adds `n` singleton elements and returns the id of the first. */
  add(n: number): number {
    const base = this.parent.length;
    for (let i = 0; i < n; i++) {
      this.parent.push(base + i);
      this.size.push(1);
    }
    return base;
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]!]!;
      x = p[x]!;
    }
    return x;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }
}
