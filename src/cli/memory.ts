// `clawdbot memory search "q" --user ID [--platform P]`, `memory forget --user ID [--platform P]`,
// `memory reindex`, `memory import PATH...`: what retrieval would give a person, erasing a person,
// re-embedding after a model change, and loading shared knowledge. Results on stdout, progress on stderr.
import { existsSync } from 'node:fs';
import { AuditFile } from '../core/audit-file.ts';
import type { MemoryConfig } from '../core/config/memory.ts';
import { UsageError } from '../core/errors.ts';
import { createEmbedder, EmbedError } from '../core/memory/embed.ts';
import { importKnowledge, type Extract } from '../core/memory/knowledge.ts';
import { Memory, scopesFor } from '../core/memory/retrieve.ts';
import { Store } from '../store/store.ts';
import { commandContext, databasePath, type GlobalOptions } from './context.ts';
import { progressBar } from './rotate-data.ts';

export type MemoryCommand = 'search' | 'forget' | 'reindex' | 'import';

export interface MemoryOptions extends GlobalOptions {
  readonly user?: string;
  readonly platform?: string;
  /** search: the chat, when memory.scope is chat. */
  readonly chat?: string;
}

export interface MemoryOutput {
  out(text: string): void;
  /** Prose and progress; `isTTY` makes the progress bar redraw in place. */
  readonly err: { write(text: string): unknown; readonly isTTY?: boolean };
}

const stdio: MemoryOutput = { out: (t) => process.stdout.write(t), err: process.stderr };

/** What the lead's config adds (memory: and models.embedding); defaults apply where it has none. */
/** Exit codes: 0 done, 1 the embedding endpoint failed (reindex), 2 usage. */
export async function runMemory(sub: MemoryCommand, args: readonly string[], opts: MemoryOptions,
  io: MemoryOutput = stdio, hooks: { extract?: Extract } = {}): Promise<number> {
  const { config } = await commandContext(opts, 'warn');
  const store = Store.open(databasePath(config), { key: config.security.encryptionKey });
  try {
    const memory = new Memory(store.memory, createEmbedder(config.models.embedding));
    switch (sub) {
      case 'search': return await search(memory, config.memory, args, opts, io);
      case 'forget': return await forget(memory, store, AuditFile.fromConfig(config.audit), args, opts, io);
      case 'reindex': return await reindex(memory, args, io);
      case 'import': return await importFiles(memory, args, io, hooks.extract);
    }
  } finally {
    store.close();
  }
}

function person(sub: string, opts: MemoryOptions): { user: string; platform: string | undefined } {
  if (!opts.user?.trim()) throw new UsageError(`memory ${sub}: --user ID is required`);
  return { user: opts.user.trim(), platform: opts.platform?.trim() || undefined };
}

async function search(memory: Memory, cfg: MemoryConfig, args: readonly string[], opts: MemoryOptions, io: MemoryOutput): Promise<number> {
  const query = args.join(' ').trim();
  if (!query) throw new UsageError('memory search: expected a query');
  const p = person('search', opts);
  if (!p.platform) throw new UsageError('memory search: --platform P is required (a person\'s memory is kept per platform)');
  if (cfg.scope === 'chat' && !opts.chat) throw new UsageError('memory search: memory.scope is chat: give the chat with --chat ID');
  const scopes = scopesFor(cfg, { platform: p.platform, userId: p.user, chatId: opts.chat ?? p.user });
  const r = await memory.related(query, { scopes, topK: cfg.topK, budgetTokens: cfg.budgetTokens, now: Date.now() });
  if (r.degraded) io.err.write(`note: ${r.degraded}\n`);
  io.out(`scopes: ${scopes.join(', ')}  (search: ${r.mode})\n`);
  if (r.snippets.length === 0) io.out('no memory matches\n');
  for (const s of r.snippets) {
    const ranks = [s.exact ? 'exact' : '', s.vectorRank ? `vector #${s.vectorRank}` : '', s.textRank ? `bm25 #${s.textRank}` : ''].filter(Boolean).join(', ');
    io.out(`${s.score.toFixed(4)}  [${s.scope}] ${new Date(s.createdAt).toISOString().slice(0, 16)} ${s.role} (${ranks}): ${s.text.replace(/\s+/g, ' ').slice(0, 200)}\n`);
  }
  io.out(`\nprompt block (${r.prompt.length} characters, budget ${cfg.budgetTokens} tokens ≈ ${cfg.budgetTokens * 4} characters):\n${r.prompt || '(empty)'}\n`);
  return 0;
}

async function forget(memory: Memory, store: Store, file: AuditFile | undefined, args: readonly string[], opts: MemoryOptions, io: MemoryOutput): Promise<number> {
  if (args.length > 0) throw new UsageError(`memory forget: unexpected argument "${args[0]}"`);
  const p = person('forget', opts);
  const c = memory.forget(p);
  // Their words in the audit trail too, in the database and in audit.file: the text goes, each record's
  // digest stays (the chain verifies). One write transaction: it orders the file's rewrite with appends.
  const who = { userId: p.user, ...(p.platform ? { platform: p.platform } : {}) };
  const audited = await store.write(() => ({ records: store.audit.erase(who), file: file?.erase(who) })).catch((err: unknown) => {
    throw new Error(`${p.user}'s memory and history were forgotten, but not their text in the audit trail: ${(err as Error).message}; ` +
      'nothing of the trail was changed, run the command again once that is fixed', { cause: err });
  });
  const f = audited.file;
  io.out(`forgot ${p.user}${p.platform ? ` on ${p.platform}` : ' on every platform'}: ${c.items} memory items, ${c.vectors} vectors, ${c.fts} full-text rows, ` +
    `${c.messages} session history messages; erased the text of ${c.inbox} inbox messages, ${c.outbox} replies and ${audited.records} audit records` +
    `${f ? ` (${f.erased} in the audit file${f.unreadable > 0 ? `, which has ${f.unreadable} lines that are not records, left as they are: clawdbot audit verify names them` : ''})` : ''}\n`);
  return 0;
}

async function reindex(memory: Memory, args: readonly string[], io: MemoryOutput): Promise<number> {
  if (args.length > 0) throw new UsageError(`memory reindex: unexpected argument "${args[0]}"`);
  try {
    const r = await memory.reindex(progressBar(io.err, 'embedding'), Date.now());
    const s = memory.status();
    io.out(`reindexed ${r.embedded} items with ${s.embedding?.model} (${s.dims} dimensions); dropped ${r.droppedIndexes} old vector indexes\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof EmbedError)) throw err;
    io.err.write(`memory reindex: ${err.message}; what was embedded is kept, run it again to continue\n`);
    return 1;
  }
}

async function importFiles(memory: Memory, paths: readonly string[], io: MemoryOutput, extract: Extract | undefined): Promise<number> {
  if (paths.length === 0) throw new UsageError('memory import: expected one or more files or folders');
  // A mistyped path is the user's to fix (exit 2), checked before anything is imported.
  for (const p of paths) if (!existsSync(p)) throw new UsageError(`memory import: ${p}: no such file or folder`);
  const s = await importKnowledge(memory, paths, { extract, now: Date.now(), onProgress: progressBar(io.err, 'importing') });
  for (const f of s.imported) io.out(`imported ${f.path} (${f.chunks} chunks)\n`);
  for (const f of s.unchanged) io.out(`unchanged ${f} (skipped)\n`);
  for (const f of s.skipped) io.out(`skipped ${f.path}: ${f.reason}\n`);
  const chunks = s.imported.reduce((n, f) => n + f.chunks, 0);
  io.out(`${s.imported.length} files imported (${chunks} chunks), ${s.unchanged.length} unchanged, ${s.skipped.length} skipped\n`);
  if (s.unembedded > 0) io.out(`${s.unembedded} chunks have no vector yet (embedding endpoint unavailable): full-text search finds them; run \`clawdbot memory reindex\` later\n`);
  return 0;
}
