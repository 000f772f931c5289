export { TtError, type TtErrorCode } from './errors';
export { TtDistribution, type TtInterfaces } from './ttTensor';
export { exactOnesConstraint, satisfies, type SamplingConstraint } from './constraint';
export { sampleTt } from './ttSampler';
export { logLikelihoods, meanLogLikelihoodGradient } from './ttLikelihood';
export { Adam } from './adam';
export {
  protes,
  initNear,
  keyOf,
  type BlackBox,
  type ProtesInit,
  type ProtesOptions,
  type ProtesProgress,
  type ProtesResult,
  type ProtesStopReason,
} from './protes';
