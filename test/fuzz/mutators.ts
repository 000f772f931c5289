// The fuzz suite's case catalogue: one maker per family, each a pure function of (seed, index).
import { caseRng, FAMILIES, type Family, type FuzzCase, type CaseMaker } from './cases';
import { dataFolder } from './dataMutators';
import { externalData, modelBytes, modelStructure } from './modelMutators';
import { preset } from './presetMutators';

const MAKERS: Record<Family, CaseMaker> = {
  'model-bytes': modelBytes,
  'model-structure': modelStructure,
  'external-data': externalData,
  'data-folder': dataFolder,
  preset,
};

export function makeCase(seed: number, family: Family, index: number): FuzzCase {
  const c = MAKERS[family](caseRng(seed, family, index), index);
  return { ...c, id: `${family}/${index}`, family };
}

export function caseFromId(seed: number, id: string): FuzzCase {
  const [family, index] = id.split('/') as [Family, string];
  if (!FAMILIES.includes(family)) throw new Error(`unknown fuzz family '${family}'`);
  return makeCase(seed, family, Number(index));
}

/** Case ids for `counts[family]` cases of each family, interleaved so a partial run samples every family. */
export function caseIds(counts: Partial<Record<Family, number>>): string[] {
  const ids: string[] = [];
  const max = Math.max(0, ...Object.values(counts).map((n) => n ?? 0));
  for (let i = 0; i < max; i++) for (const f of FAMILIES) if (i < (counts[f] ?? 0)) ids.push(`${f}/${i}`);
  return ids;
}
