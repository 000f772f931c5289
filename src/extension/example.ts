// The walkthrough's example: the bundled Half-UNet denoiser (test/fixtures/halfunet.onnx) and its
// photographs, copied where the user can open and prune them. Copies never overwrite: a folder
// that already holds the same example is reused, any other content makes the next free name.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export const EXAMPLE_MODEL = 'halfunet.onnx';
export const EXAMPLE_FOLDER = 'qubo-prune-example';
/** Relative to the extension's root, as packaged (.vscodeignore admits exactly these). */
export const EXAMPLE_SOURCE = { model: path.join('test', 'fixtures', EXAMPLE_MODEL), data: path.join('test', 'fixtures', 'data') };
/** The data splits the example carries (its manifest and README stay behind). */
const SPLITS = ['calib', 'val', 'test'];

export interface ExampleCopy {
  folder: string;
  model: string;
  data: string;
  /** False when an identical copy was already there and reused. */
  created: boolean;
}

async function digest(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await fs.readFile(file)).digest('hex');
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Copies the example into `<parent>/qubo-prune-example` (or `-2`, `-3`, … when that name holds
 * something else) and returns where. `sourceRoot` is the extension's root.
 */
export async function copyExample(sourceRoot: string, parent: string): Promise<ExampleCopy> {
  const srcModel = path.join(sourceRoot, EXAMPLE_SOURCE.model);
  const srcData = path.join(sourceRoot, EXAMPLE_SOURCE.data);
  const want = await digest(srcModel);
  if (!want) throw new Error(`the bundled example model is missing (${srcModel}); reinstall the extension`);
  for (let i = 1; i < 100; i++) {
    const folder = path.join(parent, i === 1 ? EXAMPLE_FOLDER : `${EXAMPLE_FOLDER}-${i}`);
    const model = path.join(folder, EXAMPLE_MODEL);
    const data = path.join(folder, 'data');
    if (await exists(folder)) {
      // Reuse only a copy of this very example with its data; never write into someone's folder.
      const splitsThere = await Promise.all(SPLITS.map((s) => exists(path.join(data, s))));
      if ((await digest(model)) === want && splitsThere.every(Boolean)) return { folder, model, data, created: false };
      continue;
    }
    await fs.mkdir(parent, { recursive: true });
    // Staged under a temporary name and renamed, so a failed copy never looks like a finished one.
    const staging = `${folder}.partial-${process.pid}`;
    await fs.rm(staging, { recursive: true, force: true });
    try {
      await fs.mkdir(path.join(staging, 'data'), { recursive: true });
      await fs.copyFile(srcModel, path.join(staging, EXAMPLE_MODEL));
      for (const s of SPLITS) await fs.cp(path.join(srcData, s), path.join(staging, 'data', s), { recursive: true, errorOnExist: true, force: false });
      await fs.rename(staging, folder);
    } catch (err) {
      await fs.rm(staging, { recursive: true, force: true });
      throw err;
    }
    return { folder, model, data, created: true };
  }
  throw new Error(`no free folder name for the example under ${parent} (${EXAMPLE_FOLDER} … ${EXAMPLE_FOLDER}-99 are taken)`);
}
