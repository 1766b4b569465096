// V8's compilers beyond bytecode (Sparkplug, Maglev, TurboFan) are held back from the first line of the program
// (src/cli/boot.ts) until it does real work. A leaf module: boot, the command line and the executor
// share it.
//
// Why: start-up code (module set-up, config validation, path handling) runs often enough for V8 to call
// it hot, but it never runs again. Optimizing it is wasted work, and the first optimization maps the
// compiler's own machine code (~2.5 MB of the node binary) into a process that then sits idle: `serve`
// idled at 61.5 MB with them, ~59 MB without (docs/benchmarks.md). The first turn or scheduled job
// releases them (Executor.run), and so does any other sustained work (busyWatch), so a busy process
// optimizes its hot path as usual; every command other than `serve` releases them when it is dispatched
// (src/cli/main.ts), before it does anything.
//
// How: V8's function filters. `-*` matches no function; V8 reads the filter at each tier-up decision, so
// setting it at run time takes effect at once (unlike --no-maglev, which V8 reads once). A Node whose V8
// refuses the call simply keeps its defaults.
import { setFlagsFromString } from 'node:v8';

// Whether the compilers are held is V8's state, not this module's: the entry (dist/clawdbot.cjs) and the
// program (dist/clawdbot.main.cjs) are bundled apart, each with its own copy of this module, and the hold
// set by one copy is released by the other. `released` only spares this copy repeated calls.
let released = false;

const BUSY_CPU_US = 50_000;

function filters(value: string): void {
  try {
    setFlagsFromString(`--maglev-filter=${value}`);
    setFlagsFromString(`--turbo-filter=${value}`);
    setFlagsFromString(`--sparkplug-filter=${value}`);
  } catch {
    // keep whatever V8 has
  }
}

/** Stops V8 from compiling any function beyond bytecode until releaseOptimizers(). */
export function holdOptimizers(): void {
  filters('-*');
}

/**
 * For a process that idles after start-up (`serve`): a tick to call about once a second. It releases the
 * compilers once the process has used 50 ms of CPU (5 % of a core) in each of two consecutive ticks, i.e.
 * sustained work that does not go through Executor.run (a flood of health probes, of messages no route
 * answers). One busy second alone (start-up's last collection, a config reload, the hourly prune) does not
 * count; an idle `serve` uses well under 1 ms a second.
 */
export function busyWatch(): () => void {
  let last = process.cpuUsage();
  let streak = 0;
  return () => {
    const now = process.cpuUsage();
    streak = now.user - last.user + now.system - last.system >= BUSY_CPU_US ? streak + 1 : 0;
    last = now;
    if (streak >= 2) releaseOptimizers();
  };
}

/** Gives V8 its default filters back (all functions); only the first call of a process does anything, so hot paths may call it. */
export function releaseOptimizers(): void {
  if (released) return;
  released = true;
  filters('*');
}
