import { convRules } from './conv';
import { elementwiseRules } from './elementwise';
import { linearRules } from './linear';
import { normRules } from './norm';
import { poolRules } from './pool';
import { reduceRules } from './reduce';
import { resizeRules } from './resize';
import { structureRules } from './structure';
import { NON_DIFFERENTIABLE, type RuleTable } from './types';

export type { GradRule, RuleContext, RuleTable } from './types';

const nonDifferentiable = [
  'Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual',
  'And', 'Or', 'Xor', 'Not', 'Range', 'ConstantOfShape', 'Constant', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'OneHot',
];

/** Backward rules by op type (default ONNX domain). */
export const RULES: RuleTable = {
  ...Object.fromEntries(nonDifferentiable.map((op) => [op, NON_DIFFERENTIABLE])),
  ...elementwiseRules,
  ...convRules,
  ...poolRules,
  ...reduceRules,
  ...resizeRules,
  ...structureRules,
  ...linearRules,
  ...normRules,
};

/** Op types with a backward rule (for documentation and error messages). */
export function differentiableOps(): string[] {
  return Object.keys(RULES)
    .filter((k) => RULES[k] !== NON_DIFFERENTIABLE)
    .sort();
}
