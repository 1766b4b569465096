// Entry of the single executable (the script pkg embeds; only scripts/build-binary.ts uses this file).
// The program itself travels after the Node executable as plain files (src/payload.ts): this unpacks
// them once into the user's cache folder and runs them from there, exactly as `node dist/clawdbot.cjs`
// runs from dist/. Node lets an embedded script require only built-in modules, hence createRequire.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { holdOptimizers } from '../optimizers.ts';
import { unpackedPayload } from '../payload.ts';

holdOptimizers(); // as early as in boot.ts: see src/optimizers.ts

let dir: string;
try {
  dir = unpackedPayload(process.execPath);
} catch (err) {
  process.stderr.write(`clawdbot: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
const entry = join(dir, 'clawdbot.cjs');
createRequire(entry)(entry);
