// Files our own clients send with a message (WebSocket/REST: base64 in the JSON, or multipart on REST).
// They are held in memory only until the turn reads them (media processors keep nothing): the
// Attachment's ref is "upload:<id>", bounded in count, total size and age, so a client cannot pile
// memory up. After a restart the bytes are gone; the turn then answers that the file is no longer there.
import { randomUUID } from 'node:crypto';
import { AdapterError } from '../core/errors.ts';
import { attachmentKind } from '../core/media/detect.ts';
import type { Attachment } from '../core/types.ts';

/** Largest file accepted from a client (media_processors caps each type lower). */
export const MAX_UPLOAD = 25 * 1024 * 1024;
const MAX_TOTAL = 100 * 1024 * 1024;
const TTL_MS = 10 * 60_000;

export class Uploads {
  readonly #platform: string;
  readonly #files = new Map<string, { bytes: Buffer; at: number }>();
  #total = 0;

  constructor(platform: string) {
    this.#platform = platform;
  }

  /** Holds the bytes; the attachment to put on the message. Refuses what would exceed the bounds. */
  put(bytes: Buffer, name: string | undefined, mime: string | undefined, now = Date.now()): Attachment {
    this.#expire(now);
    if (bytes.length > MAX_UPLOAD) throw new AdapterError(this.#platform, 'rejected', `file larger than ${MAX_UPLOAD} bytes`);
    if (this.#total + bytes.length > MAX_TOTAL) {
      // At the latest the oldest file expires then (sooner when a turn reads one).
      const oldest = this.#files.values().next().value;
      const retryAfterMs = oldest ? Math.max(1000, oldest.at + TTL_MS - now) : 1000;
      throw new AdapterError(this.#platform, 'rate_limited', 'too many files waiting to be read; try again shortly', { retryAfterMs });
    }
    const id = randomUUID();
    this.#files.set(id, { bytes, at: now });
    this.#total += bytes.length;
    return { kind: attachmentKind(bytes), ref: `upload:${id}`, name, mime, size: bytes.length };
  }

  /** The bytes of an upload, once (they are dropped after); over `maxBytes` → AdapterError 'rejected'. */
  take(ref: string, maxBytes: number): Buffer {
    const id = ref.startsWith('upload:') ? ref.slice('upload:'.length) : '';
    const f = this.#files.get(id);
    if (!f) throw new AdapterError(this.#platform, 'unavailable', 'the file is no longer here (sent before a restart, or already read)');
    this.#files.delete(id);
    this.#total -= f.bytes.length;
    if (f.bytes.length > maxBytes) throw new AdapterError(this.#platform, 'rejected', `file larger than ${maxBytes} bytes`);
    return f.bytes;
  }

  #expire(now: number): void {
    for (const [id, f] of this.#files) {
      if (now - f.at < TTL_MS) break; // insertion order is age order
      this.#files.delete(id);
      this.#total -= f.bytes.length;
    }
  }
}

/** `attachments: [{ "data": base64, "name"?: "a.pdf" }]` of a client message, decoded; an error text for a bad one. */
export function decodeAttachments(raw: unknown): { files: { bytes: Buffer; name: string | undefined }[] } | { error: string } {
  if (raw === undefined) return { files: [] };
  if (!Array.isArray(raw) || raw.length > 4) return { error: '"attachments" must be a list of at most 4 { "data": base64, "name"?: string }' };
  const files: { bytes: Buffer; name: string | undefined }[] = [];
  for (const a of raw as unknown[]) {
    const o = a as { data?: unknown; name?: unknown } | null;
    if (!o || typeof o.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.data)) return { error: 'each attachment needs "data": the file as base64' };
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > 200)) return { error: 'an attachment\'s "name" must be a string of at most 200 characters' };
    files.push({ bytes: Buffer.from(o.data, 'base64'), name: o.name as string | undefined });
  }
  return { files };
}
