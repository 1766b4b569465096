// `memory import`: md and txt files (folders walked recursively) cut into ~800-character chunks on
// paragraph boundaries, with some overlap so a fact split between two chunks is whole in one of them,
// embedded into the shared scope. A file whose bytes are unchanged since its last import is skipped
// (content hash); a changed one replaces its old chunks. pdf and docx go through the `extract` hook.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Memory } from './retrieve.ts';
import { SHARED_SCOPE } from '../../store/memory.ts';

export const CHUNK_CHARS = 800;
export const CHUNK_OVERLAP = 150;

const TEXT_EXT = new Set(['.md', '.markdown', '.txt']);
const EXTRACTED_EXT = new Set(['.pdf', '.docx']);

/** Text of a pdf or docx file (the media extractors). */
export type Extract = (path: string) => Promise<string>;

export interface ImportSummary {
  readonly imported: { path: string; chunks: number }[];
  readonly unchanged: string[];
  readonly skipped: { path: string; reason: string }[];
  /** Chunks stored without a vector (embedding endpoint down): searchable by FTS until reindexed. */
  readonly unembedded: number;
}

/** Paragraphs packed into chunks of about `size` characters; the next chunk repeats the last ~`overlap`. */
export function chunkText(text: string, size = CHUNK_CHARS, overlap = CHUNK_OVERLAP): string[] {
  const paragraphs = text.replace(/\r\n?/g, '\n').split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean).flatMap((p) => splitLong(p, size));
  const chunks: string[] = [];
  let current = '';
  for (const p of paragraphs) {
    if (current && current.length + 2 + p.length > size) {
      chunks.push(current);
      current = tail(current, overlap);
    }
    current = current ? `${current}\n\n${p}` : p;
  }
  if (current && (chunks.length === 0 || !chunks.at(-1)!.endsWith(current))) chunks.push(current);
  return chunks;
}

/** A paragraph longer than a chunk, cut at sentence ends, else at spaces, else anywhere (CJK). */
function splitLong(p: string, size: number): string[] {
  const out: string[] = [];
  let rest = p;
  while (rest.length > size) {
    const window = rest.slice(0, size);
    const at = Math.max(window.search(/[.!?\u3002\uFF01\uFF1F](?=\s|$)[^.!?\u3002\uFF01\uFF1F]*$/) + 1, 0) || window.lastIndexOf(' ') + 1 || size;
    const cut = at > size / 3 ? at : size;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out;
}

/** The end of a chunk to repeat at the start of the next: whole words, at most `overlap` characters. */
function tail(chunk: string, overlap: number): string {
  if (overlap <= 0) return '';
  const t = chunk.slice(-overlap);
  const space = t.search(/\s/);
  return (space >= 0 ? t.slice(space) : t).trim();
}

/** Every file under the paths (folders recursively, in name order). */
function walk(paths: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    if (statSync(p).isDirectory()) for (const name of readdirSync(p).sort()) visit(join(p, name));
    else out.push(p);
  };
  for (const p of paths) visit(resolve(p));
  return out;
}

export async function importKnowledge(memory: Memory, paths: readonly string[], o: {
  readonly extract: Extract | undefined;
  readonly now: number;
  readonly onProgress: (done: number, total: number) => void;
}): Promise<ImportSummary> {
  const summary = { imported: [], unchanged: [], skipped: [], unembedded: 0 } as { -readonly [K in keyof ImportSummary]: ImportSummary[K] };
  const files = walk(paths);
  for (const [i, path] of files.entries()) {
    o.onProgress(i, files.length);
    const ext = extname(path).toLowerCase();
    if (!TEXT_EXT.has(ext) && !EXTRACTED_EXT.has(ext)) {
      summary.skipped.push({ path, reason: `not a text file (md, txt${o.extract ? ', pdf, docx' : ''})` });
      continue;
    }
    if (EXTRACTED_EXT.has(ext) && !o.extract) {
      summary.skipped.push({ path, reason: `${ext.slice(1)} extraction is not available in this build` });
      continue;
    }
    const bytes = readFileSync(path);
    const hash = createHash('sha256').update(bytes).digest('hex');
    if (memory.store.sourceHash(path) === hash) {
      summary.unchanged.push(path);
      continue;
    }
    let text: string;
    try {
      text = EXTRACTED_EXT.has(ext) ? await o.extract!(path) : bytes.toString('utf8');
    } catch (err) {
      summary.skipped.push({ path, reason: `could not read it: ${(err as Error).message}` });
      continue;
    }
    const chunks = chunkText(text);
    memory.store.deleteSource(path);
    const r = await memory.add(chunks.map((c) => ({
      scope: SHARED_SCOPE, platform: undefined, userId: undefined, chatId: undefined, role: 'knowledge' as const, text: c, source: path, createdAt: o.now,
    })), o.now);
    memory.store.recordSource(path, hash, chunks.length, o.now);
    summary.imported.push({ path, chunks: chunks.length });
    summary.unembedded += chunks.length - r.embedded;
  }
  o.onProgress(files.length, files.length);
  return summary;
}
