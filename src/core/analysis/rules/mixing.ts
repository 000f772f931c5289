// Known ops that always mix channels (or move them off axis 1): everything they touch is locked.
import { forOps, type RuleTable } from './types';

const CHANNEL_MIXING = [
  'DepthToSpace', 'SpaceToDepth', 'LRN', 'GroupNormalization', 'Gather', 'GatherElements', 'GatherND',
  'ScatterND', 'ScatterElements', 'Einsum', 'Expand', 'Tile', 'CumSum', 'TopK', 'ArgMax', 'ArgMin',
  'NonZero', 'Compress', 'OneHot', 'ReverseSequence', 'Trilu', 'GridSample', 'RoiAlign', 'MaxRoiPool',
  'MaxUnpool', 'Col2Im', 'DFT', 'STFT',
];

export const mixingRules: RuleTable = forOps(CHANNEL_MIXING, (ctx, node) => ctx.lockNode(node, 'channel-mixing', `${node.opType} '${node.name}' mixes or reorders channels`));
