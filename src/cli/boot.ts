#!/usr/bin/env node
// Entry of the bundle (dist/clawdbot.cjs) and of the executable; only scripts/build.ts uses this file.
// It turns on Node's on-disk compile cache (module.enableCompileCache, Node >= 22.1) BEFORE the real
// program (dist/clawdbot.main.cjs, bundled from src/cli/main.ts) is loaded: V8 then reuses the
// bytecode of the multi-megabyte bundle instead of compiling it at every start. The cache is keyed by
// the file's content hash, so a new build simply misses once. NODE_DISABLE_COMPILE_CACHE=1 turns it off
// (Node's own switch); NODE_COMPILE_CACHE=dir picks the folder (also Node's own).
//
// Folder: ${XDG_CACHE_HOME:-$HOME/.cache}/clawdbot/compile-cache, else $TMPDIR/clawdbot-<uid>/compile-cache
// when that is not writable, not ours, or HOME is unset. Either must be a real folder of this user's, made
// 0700 (privateDir): another user's bytecode must never be loaded. Any failure just means no cache.
import { constants, enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { cacheRoots, privateDir } from '../cache-dirs.ts';
import { holdOptimizers } from '../optimizers.ts';

// Before anything else runs: V8's optimizing compilers wait until the program does real work (see
// src/optimizers.ts; the imports above only define functions).
holdOptimizers();

function tryCache(dir: string): boolean {
  try {
    // The cache holds code V8 runs: only this user may write it (else the next folder is tried).
    if (!privateDir(dir)) return false;
    const r = enableCompileCache(dir);
    return r.status !== constants.compileCacheStatus.FAILED;
  } catch {
    return false;
  }
}

if (typeof enableCompileCache === 'function' && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  for (const root of cacheRoots()) {
    try {
      if (tryCache(join(root(), 'compile-cache'))) break;
    } catch {
      // this root is unusable (the private temporary folder refused): try the next
    }
  }
}

// Node reports these two deprecations only for code outside node_modules. In the bundle every library
// is "outside", so grammy's node-fetch (url.parse, DEP0169) and tr46 (require('punycode'), DEP0040)
// would print them on every Telegram start although the same code is silent from node_modules.
const bundleOnly = new Set(['DEP0040', 'DEP0169']);
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
  const [a, b] = rest;
  const code = typeof a === 'object' && a !== null ? (a as { code?: string }).code : typeof b === 'string' ? b : undefined;
  if (code && bundleOnly.has(code)) return;
  return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

// The bundle's CommonJS `require` (this file is bundled to CJS): the program sits next to this file, in
// dist/ or in the executable's unpacked folder (src/payload.ts).
require('./clawdbot.main.cjs');
