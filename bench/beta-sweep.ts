// β/α sweep of the Hybrid QUBO on the fixture denoisers (no refinement): test PSNR per setting.
// node --import tsx bench/beta-sweep.ts [model ...]
import * as path from 'node:path';
import { runPipeline } from '../src/core/pipeline';
import { DEFAULT_SETTINGS, mergeSettings } from '../src/core/presets';

const models = process.argv.slice(2).length ? process.argv.slice(2) : ['halfunet', 'dncnn', 'unet'];
const root = path.resolve(__dirname, '..');
async function main() {
  for (const m of models) {
    for (const [alpha, beta] of [[0.5, 0], [0.5, 0.1], [0.5, 0.3], [0.5, 1], [1, 0.3], [0, 0.3]] as const) {
      const settings = mergeSettings(DEFAULT_SETTINGS, { alpha, beta, provider: 'cpu', refine: { scope: 'off' }, samples: 16 });
      const s = await runPipeline({
        model: path.join(root, 'test/fixtures', `${m}.onnx`), data: path.join(root, 'test/fixtures/data'),
        out: `/tmp/beta/${m}-${alpha}-${beta}.onnx`, presetName: 'sweep', settings, compare: beta === 0 && alpha === 0.5, timeBudgetSeconds: 0,
      });
      const cmp = s.comparison?.map((c) => `${c.method} ${c.psnr?.toFixed(2)}`).join(', ') ?? '';
      console.log(`${m} α=${alpha} β=${beta}: hybrid ${s.after.psnr!.toFixed(2)} dB (orig ${s.before.psnr!.toFixed(2)}) ${cmp}`);
    }
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
