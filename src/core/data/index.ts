export { DataError, type DataErrorCode } from './errors';
export {
  decodeImageBuffer,
  decodeImageFile,
  decodeRaw,
  decodeRawFile,
  readImageHeader,
  toPlanar,
  type DecodedImage,
  type ImageFormat,
  type ImageHeader,
  type RawImage,
} from './decode';
export { addNoise, formatNoiseSpec, mixSeed, parseNoiseSpec, type NoiseSpec } from './noise';
export { convertChannels, cropRects, extractCrop, reflectIndex, type CropMode, type CropRect } from './crop';
export { SPLIT_NAMES, type LayoutKind, type LayoutOption, type SplitName } from './layout';
export { DEFAULT_SPLITS, splitCounts, type SplitSpec } from './splits';
export {
  loadDataset,
  type Batch,
  type BatchOptions,
  type DataSplit,
  type DataTransform,
  type Dataset,
  type DatasetSummary,
  type LoadDatasetOptions,
  type Task,
  type DataTask,
} from './dataset';
export { concatBatches, firstSamples } from './batches';
export { IMAGENET_MEAN, IMAGENET_STD, autoResize, centerCropOffset, resizeImage, resizeShorterSide, resizedSize } from './resize';
