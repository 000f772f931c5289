import { TtError } from './errors';

/**
 * A left-to-right automaton that restricts which values each position may take given the prefix.
 * The sampler and the likelihood apply the same mask: at position k the conditional of the TT is
 * restricted to the allowed values and renormalised, so the masked model q(x) = Π_k q(x_k | x_<k)
 * is itself a normalised distribution over the feasible points (a prefix with one allowed value
 * contributes probability 1). The state is a number so that it can live in a typed array per sample.
 * Every reachable prefix must leave at least one allowed value; otherwise sampling fails with
 * TtError 'infeasible'.
 */
export interface SamplingConstraint {
  readonly initialState: number;
  allowed(position: number, state: number, value: number): boolean;
  next(position: number, state: number, value: number): number;
}

/**
 * Binary vectors with exactly `ones` ones among `d` positions (values other than 0 and 1 are never
 * allowed). The state is the number of ones drawn so far: 1 is refused once the count is reached,
 * 0 is refused when the remaining positions are exactly the remaining ones.
 */
export function exactOnesConstraint(d: number, ones: number): SamplingConstraint {
  if (!Number.isInteger(d) || d < 1) throw new TtError('bad-option', `exactOnes: d must be a positive integer, got ${d}.`);
  if (!Number.isInteger(ones) || ones < 0 || ones > d) {
    throw new TtError('bad-option', `exactOnes: the number of ones must be an integer in [0, ${d}], got ${ones}.`);
  }
  return {
    initialState: 0,
    allowed(position, state, value) {
      if (value === 1) return state < ones;
      if (value === 0) return d - position > ones - state;
      return false;
    },
    next(_position, state, value) {
      return value === 1 ? state + 1 : state;
    },
  };
}

/** Whether a full vector satisfies the constraint (walks the automaton). */
export function satisfies(constraint: SamplingConstraint, x: ArrayLike<number>): boolean {
  let s = constraint.initialState;
  for (let k = 0; k < x.length; k++) {
    const v = x[k]!;
    if (!constraint.allowed(k, s, v)) return false;
    s = constraint.next(k, s, v);
  }
  return true;
}
