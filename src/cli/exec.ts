// `clawdbot exec "message"`: one message through the same gateway as serve; the reply goes to stdout.
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AdapterRegistry } from '../adapters/registry.ts';
import { TerminalAdapter } from '../adapters/terminal.ts';
import { attachAudit } from '../core/audit.ts';
import { UsageError } from '../core/errors.ts';
import { attachmentKind } from '../core/media/detect.ts';
import type { Attachment } from '../core/types.ts';
import { Executor } from '../core/executor.ts';
import { Gateway } from '../core/gateway.ts';
import { Store } from '../store/store.ts';
import { commandContext, databasePath, loginName, openMemory, type GlobalOptions } from './context.ts';

export interface ExecOptions extends GlobalOptions {
  /** A file sent with the message (an image or a document for media_processors). */
  readonly attach?: string;
  readonly platform: string;
  readonly user?: string;
  /** Default: the user id. A direct chat is one person's (as a Telegram DM's chat id is the user's). */
  readonly chat?: string;
  readonly json?: boolean;
}

export async function runExec(words: string[], opts: ExecOptions): Promise<number> {
  const text = words.length === 1 && words[0] === '-' ? await readStdin() : words.join(' ');
  if (!text.trim()) throw new UsageError('exec: the message is empty (give it as arguments, or "-" to read stdin)');
  const { config, log, redactor } = await commandContext(opts, 'warn');
  const store = Store.open(databasePath(config), { key: config.security.encryptionKey, log });
  attachAudit(store, config.audit, redactor);
  try {
    const terminal = new TerminalAdapter({ platform: opts.platform, out: process.stdout, stream: !opts.json });
    const adapters = new AdapterRegistry();
    adapters.add(terminal);
    const memory = await openMemory(config, store);
    const gateway = new Gateway({ config, store, executor: new Executor({ config, store, log, ...(memory ? { memory } : {}) }), adapters, log, redactor });
    const started = performance.now();
    const user = opts.user ?? loginName();
    const chat = opts.chat ?? user;
    const outcome = await gateway.receive(
      { platform: opts.platform, id: randomUUID(), chat: { id: chat, type: 'dm' }, sender: { id: user }, text, sentAt: Date.now(), attachments: attachmentsOf(opts.attach) },
      terminal.delta,
    );
    if (outcome.duplicate) throw new Error('unexpected duplicate');
    const result = outcome.result;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({
        reply: result?.text ?? null,
        status: result ? result.status : 'unrouted',
        action: outcome.route?.action ?? null,
        route: outcome.route?.source ?? null,
        ...(result?.status === 'ok' && result.model ? { model: result.model } : {}),
        ...(result?.status === 'failed' ? { error: result.error.message } : {}),
        ...(result?.status === 'denied' ? { error: result.reason } : {}),
        duration_ms: Math.round(performance.now() - started),
      })}\n`);
    } else if (result?.status === 'failed') {
      process.stderr.write(`clawdbot: ${result.error.message}\n`);
    } else if (result?.status === 'denied') {
      process.stderr.write(`clawdbot: denied: ${result.reason}\n`);
    } else if (!result) {
      process.stderr.write('clawdbot: no route matched this message and there is no default rule\n');
    }
    await gateway.close(30_000); // what the turn left to do (memory) finishes before the store closes
    return result?.status === 'ok' ? 0 : 1;
  } finally {
    store.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** `--attach FILE`: what kind it is, only the bytes will tell (an image's first bytes say so; media_processors reads the rest). */
function attachmentsOf(file: string | undefined): Attachment[] {
  if (!file) return [];
  const path = resolve(file);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new UsageError(`exec: --attach ${file}: no such file`);
  return [{ kind: attachmentKind(readHead(path, 16)), ref: path, name: basename(path), mime: undefined, size: st.size }];
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}
