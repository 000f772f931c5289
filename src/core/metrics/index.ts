export { MetricError, type MetricErrorCode } from './errors';
export { PSNR_CAP_DB, meanPsnr, mse, psnr, psnrFromMse, psnrPerImage, sumSquaredError } from './psnr';
export { gaussianWindow, ssim, ssimChannel, ssimPerImage, type SsimOptions } from './ssim';
export { crossEntropy, crossEntropyPerSample, top1Accuracy, topKAccuracy, topKCorrect } from './classification';
export {
  ClassifyMetrics,
  DenoiseMetrics,
  type ClassifySummary,
  type DenoiseMetricOptions,
  type DenoiseSummary,
} from './accumulate';
export { SegmentationMetrics, argmaxClasses, type SegmentationSummary } from './segmentation';
