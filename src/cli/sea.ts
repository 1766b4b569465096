// Entry of the single executable (the script pkg embeds; only scripts/build-binary.ts uses this file).
// The program itself travels after the Node executable as plain files (src/payload.ts): this unpacks
// them once into the user's cache folder and runs them from there, exactly as `node dist/clawdbot.cjs`
// runs from dist/. Node lets an embedded script require only built-in modules, hence createRequire.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { holdOptimizers } from '../optimizers.ts';
import { unpackedPayload, type Unpacked } from '../payload.ts';
import { REUNPACK_KEY } from '../reunpack.ts';

holdOptimizers(); // as early as in boot.ts: see src/optimizers.ts

function unpack(): Unpacked {
  try {
    return unpackedPayload(process.execPath);
  } catch (err) {
    process.stderr.write(`clawdbot: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

const unpacked = unpack();
// A library file is loaded when first used, maybe days after start: if a cache cleaner removed it
// meanwhile, the program asks for the folder to be repaired (scripts/build.ts, chunk loading), from
// the executable this process started from, into the folder it runs from.
(globalThis as Record<symbol, unknown>)[Symbol.for(REUNPACK_KEY)] = () => unpacked.repair();
const entry = join(unpacked.dir, 'clawdbot.cjs');
createRequire(entry)(entry);
