// What a command prints, kept up to a byte cap. Everything past the cap is still read (a process that
// cannot write would block, and a server keeps sending) but dropped at once, so memory stays bounded
// however much a command writes.

export class CappedOutput {
  readonly #cap: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #truncated = false;

  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Keeps what fits under the cap; `truncated` turns true at the first byte that did not fit. */
  push(chunk: Uint8Array): void {
    const room = this.#cap - this.#kept;
    if (chunk.byteLength > room) {
      this.#truncated = true;
      if (room > 0) this.#chunks.push(Buffer.from(chunk.subarray(0, room)));
      this.#kept = this.#cap;
      return;
    }
    this.#chunks.push(Buffer.from(chunk));
    this.#kept += chunk.byteLength;
  }

  /** Something was dropped (an HTTP reader may stop reading now). */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** The kept bytes as UTF-8; a character the cap cut in two is left out rather than shown as U+FFFD. */
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return (this.#truncated ? all.subarray(0, utf8Boundary(all)) : all).toString('utf8');
  }
}

/** Length of `b` without a multi-byte UTF-8 sequence that is incomplete at its end. */
function utf8Boundary(b: Buffer): number {
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last sequence.
  let i = b.length - 1;
  while (i >= 0 && i >= b.length - 4 && (b[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return b.length;
  const lead = b[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return b.length - i >= need ? b.length : i;
}
