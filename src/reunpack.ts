// The hook between the executable's entry (src/cli/sea.ts), which knows how to unpack the program files
// again, and the bundle's loading of its library files (scripts/build.ts), which may find one missing.
// A global symbol: the two are bundled apart. Absent when the program runs from dist/ or from source.
export const REUNPACK_KEY = 'clawdbot.reunpack';

/**
 * Unpacks the program files again when running as the executable (a cache cleaner removed some while
 * the program ran); false elsewhere (dist/ or source), where there is nothing to unpack.
 */
export function reunpack(): boolean {
  const again = (globalThis as Record<symbol, unknown>)[Symbol.for(REUNPACK_KEY)];
  if (typeof again !== 'function') return false;
  (again as () => void)();
  return true;
}
