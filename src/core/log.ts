// Logging: pino JSON lines on stderr (stdout belongs to command output), pretty when stderr is a TTY
// (CLAWDBOT_LOG_FORMAT=json|pretty decides otherwise).
// Secrets are redacted by key name wherever they appear in a logged object.
import pino, { type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = ['api_key', 'apiKey', 'token', 'bot_token', 'app_token', 'signing_secret', 'password', 'passphrase', 'secret', 'authorization', 'Authorization', 'x-api-key', 'encryption_key', 'encryptionKey'];
export const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`), 'req.headers.authorization', 'req.headers["x-api-key"]'];

export interface LogOptions {
  readonly level: string;
  /** Force pretty (true) or JSON (false); default: pretty when stderr is a TTY. */
  readonly pretty?: boolean;
  /** Where lines go (tests pass a stream); default stderr. */
  readonly destination?: NodeJS.WritableStream;
  /** Wraps the destination (the secret-redacting stream of src/core/redact.ts). */
  readonly wrap?: (d: NodeJS.WritableStream) => NodeJS.WritableStream;
}

export async function createLogger(opts: LogOptions): Promise<Logger> {
  const base = { level: opts.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined };
  const wrap = opts.wrap ?? ((d: NodeJS.WritableStream) => d);
  if (opts.destination) return pino(base, wrap(opts.destination));
  const format = process.env.CLAWDBOT_LOG_FORMAT;
  if (opts.pretty ?? (format ? format === 'pretty' : process.stderr.isTTY)) {
    // In-process pretty stream, not a pino transport: transports are worker threads that load files by
    // path, which a single-file executable does not have. Loaded only on a TTY.
    const { default: pretty } = await import('pino-pretty');
    return pino(base, wrap(pretty({ destination: 2, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' })));
  }
  return pino(base, wrap(pino.destination({ dest: 2, sync: false }) as unknown as NodeJS.WritableStream));
}
