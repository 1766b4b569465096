// Secrets out of every output. pino's key-name redaction (log.ts) catches `{ token: ... }`, but not a
// token inside a message, an error text, a URL or a command's output; those pass through here: the
// configured secret values themselves, and text that looks like a credential wherever it came from.
// The audit log applies this to input and output before they are stored (src/store/audit.ts); the log
// destination goes through `RedactingStream`.
import { Writable } from 'node:stream';
import type { CommandSpec } from './commands/types.ts';
import type { Config } from './config/types.ts';

export const REDACTED = '[redacted]';

/**
 * Configured values shorter than this are not searched for: cutting a 3-letter word out of every text
 * would mangle it, and a value that short protects nothing anyway.
 */
const MIN_SECRET_LENGTH = 6;

/** Names (of a header, an environment variable, a key=value pair) that say "the value is a credential". */
const CREDENTIAL_NAME = /(auth|token|secret|pass(word|wd|phrase)?|api[_-]?key|cookie|credential|private[_-]?key|signature)/i;

/** Text that looks like a credential, whatever its origin; each keeps what says what it was. */
const PATTERNS: readonly (readonly [RegExp, string])[] = [
  // Authorization header values, whatever the scheme.
  [/(authorization\\?["']?\s*[:=]\s*\\?["']?)(?:(?:basic|bearer|digest|token)\s+)?[^\s"'\\,;]+/gi, `$1${REDACTED}`],
  // A bearer token anywhere else: 8+ token characters with a digit among them ("bearer of news" stays).
  [/\b(bearer\s+)(?=[A-Za-z0-9\-._~+/]*\d)[A-Za-z0-9\-._~+/]{8,}=*/gi, `$1${REDACTED}`],
  // Slack bot/user/app tokens.
  [/\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{8,}/g, REDACTED],
  // Telegram bot tokens (also inside a Bot API URL: /bot123456:AA.../getMe).
  [/(?<!\d)\d+:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g, REDACTED],
  // clawdbot API keys.
  [/\bcbk_[A-Za-z0-9_-]{8,}/g, REDACTED],
  // user:password@ in a URL.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"']+:)[^/\s@"']+@/gi, `$1${REDACTED}@`],
  // password=..., "api_key": "...", client_secret: ..., ?access_token=... (the name must stand alone:
  // max_tokens: 1024 is left alone).
  [/((?<![A-Za-z0-9])(?:pass(?:word|wd|phrase)?|secret|client[_-]?secret|token|access[_-]?token|auth[_-]?token|api[_-]?key|apikey)\\?["']?\s*[:=]\s*\\?["']?)[^\s"'\\&,;]{4,}/gi, `$1${REDACTED}`],
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces secrets in text with "[redacted]". Immutable: a reloaded config makes a new one with
 * {@link Redactor.withConfig}, which keeps the old values too (a rotated-out token is still a secret).
 */
export class Redactor {
  readonly #secrets: ReadonlySet<string>;
  readonly #literal: RegExp | undefined;
  /** Length of the longest configured value with whitespace in it (0 when none): what a stream must hold back. */
  readonly longestSpaced: number;

  constructor(secrets: Iterable<string>) {
    const kept = new Set<string>();
    for (const s of secrets) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      kept.add(s);
      // The same value as it appears inside a JSON string (a log line) or a URL.
      kept.add(JSON.stringify(s).slice(1, -1));
      kept.add(encodeURIComponent(s));
    }
    this.#secrets = kept;
    this.longestSpaced = Math.max(0, ...[...kept].filter((k) => /\s/.test(k)).map((k) => k.length));
    // Longest first: a secret that contains another is replaced whole.
    const alternatives = [...kept].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#literal = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : undefined;
  }

  static fromConfig(config: Config): Redactor {
    return new Redactor(configSecrets(config));
  }

  withConfig(config: Config): Redactor {
    return new Redactor([...this.#secrets, ...configSecrets(config)]);
  }

  redact(text: string): string {
    let out = this.#literal ? text.replace(this.#literal, REDACTED) : text;
    for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
    return out;
  }
}

/** What the gateway redacts replies and streamed deltas with. */
export type TextRedactor = Pick<Redactor, 'redact' | 'longestSpaced'>;

/** Characters a stream holds back at least (see StreamRedactor). */
const STREAM_HOLD = 16;

/**
 * Redacts a text that leaves in pieces (a model's reply streamed as WebSocket deltas or into a preview
 * message) before any piece leaves. A secret can arrive split across two pieces, so the end of what has
 * arrived is held back: a piece goes out only up to a whitespace at least `hold` characters before the
 * end, i.e. never the word still arriving. Each time, the whole text so far is redacted and only what
 * follows the part already sent goes out. That part cannot change later: it ends at a whitespace that is
 * not the last character, and what a pattern replaces is a run without whitespace (an Authorization
 * scheme and its token are one run once the token has begun, and the hold keeps the cut off the space
 * between them until then). A configured value with spaces in it is held back whole: the hold is at least
 * twice the longest (twice: the held-back end may be "[redacted]" standing for shorter values). end()
 * sends the rest, redacted with the complete text, so the pieces add up to exactly redact(whole text).
 */
export class StreamRedactor {
  readonly #redactor: Pick<Redactor, 'redact'>;
  readonly #emit: (piece: string) => void;
  readonly #hold: number;
  #raw = '';
  /** Length of the redacted text already sent. */
  #sent = 0;
  #unflushed = 0;

  constructor(redactor: Pick<Redactor, 'redact'> & { readonly longestSpaced?: number }, emit: (piece: string) => void) {
    this.#redactor = redactor;
    this.#emit = emit;
    this.#hold = Math.max(STREAM_HOLD, 2 * (redactor.longestSpaced ?? 0));
  }

  push(piece: string): void {
    this.#raw += piece;
    this.#unflushed += piece.length;
    // Redacting the whole text at every token would be quadratic: wait for a share of it (a word or two
    // early on, 1/64 of the text later: ~300 redactions of a 40 KB answer, ~45 ms in all).
    if (this.#unflushed >= Math.max(8, this.#raw.length >> 6)) this.#flush(false);
  }

  end(): void {
    this.#flush(true);
  }

  #flush(final: boolean): void {
    this.#unflushed = 0;
    const red = this.#redactor.redact(this.#raw);
    let cut = red.length;
    if (!final) {
      cut -= this.#hold;
      while (cut > this.#sent && !/\s/.test(red[cut - 1]!)) cut--;
    }
    if (cut <= this.#sent) return;
    this.#emit(red.slice(this.#sent, cut));
    this.#sent = cut;
  }
}

/** Only the look-alike patterns: what is applied before any config is known. */
export const patternRedactor = new Redactor([]);

/** Every secret value the config holds. */
export function configSecrets(config: Config): string[] {
  const { telegram, slack } = config.adapters;
  const dataKey = config.security.encryptionKey;
  const values = [
    config.security.apiKey,
    // The data key as it is written in a config or key file.
    dataKey?.toString('base64'),
    dataKey?.toString('hex'),
    config.models.default.apiKey,
    config.metrics.token,
    telegram.token,
    telegram.webhookSecret,
    slack.botToken,
    slack.appToken,
    slack.signingSecret,
    ...[...config.commands.values()].flatMap(commandSecrets),
  ];
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

function commandSecrets(c: CommandSpec): (string | undefined)[] {
  const r = c.runner;
  switch (r.kind) {
    case 'ssh':
      return [r.passphrase];
    case 'local':
      return Object.entries(r.env).filter(([name]) => CREDENTIAL_NAME.test(name)).map(([, v]) => v);
    case 'http':
      return Object.entries(r.headers).filter(([name]) => CREDENTIAL_NAME.test(name)).flatMap(([, v]) => headerSecrets(v));
  }
}

/**
 * A credential header's fixed part: "Bearer abc" → "abc". A value with a {{placeholder}} is filled per
 * call from a parameter (not a configured secret); its fixed pieces are kept when long enough.
 */
function headerSecrets(value: string): string[] {
  const bare = value.replace(/^(?:bearer|basic|token|digest)\s+/i, '');
  return bare.split(/\{\{[^}]*\}\}/).map((s) => s.trim());
}

/**
 * A log destination that redacts each line before passing it on (pino writes one whole line per write,
 * so a secret is never split across two chunks). `use` swaps the redactor after a config reload.
 */
export class RedactingStream extends Writable {
  #redactor: Redactor;
  readonly #destination: NodeJS.WritableStream;

  constructor(redactor: Redactor, destination: NodeJS.WritableStream) {
    super({ decodeStrings: false });
    this.#redactor = redactor;
    this.#destination = destination;
  }

  use(redactor: Redactor): void {
    this.#redactor = redactor;
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#destination.write(this.#redactor.redact(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
    callback();
  }

  /** pino calls this after a fatal line: the destination (a SonicBoom) writes out what it holds. */
  flushSync(): void {
    (this.#destination as { flushSync?: () => void }).flushSync?.();
  }
}
