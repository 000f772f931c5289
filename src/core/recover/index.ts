export { AdamW, warmupCosine, type AdamWOptions } from './adamw';
export { RecoverError, type RecoverErrorCode } from './errors';
export { buildTrainingGraph, trainableTensors, withWeightsAsInputs, type TrainableTensor, type TrainingGraph } from './trainingGraph';
export { recoverWeights, type RecoverInput, type RecoverOptions, type RecoverProgress, type RecoverResult } from './train';
export { downsampleTrace, recoverSettingsOf, runRecoverStage, type RecoveryInfo, type RecoverSettingsLike } from './stage';
export { recalibrateBatchNorm, type BatchNormRecalibration } from './batchNormStats';
