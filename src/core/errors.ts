// Errors split by where the failure happened, so a caller can decide without parsing messages.

/** A configuration file or value is wrong. `where` is "file:line:col" when known. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly where: string | undefined;
  readonly path: string | undefined;
  constructor(message: string, opts: { where?: string; path?: string; cause?: unknown } = {}) {
    super(opts.where ? `${opts.where}: ${message}` : message, { cause: opts.cause });
    this.where = opts.where;
    this.path = opts.path;
  }
}

export type ModelErrorKind = 'unreachable' | 'not_found' | 'timeout' | 'http' | 'bad_response' | 'aborted';

/** The model endpoint failed. `kind` says how; `userText` is what the person in the chat is told. */
export class ModelError extends Error {
  override name = 'ModelError';
  readonly kind: ModelErrorKind;
  readonly status: number | undefined;
  constructor(kind: ModelErrorKind, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
  }
  get userText(): string {
    switch (this.kind) {
      case 'unreachable': return 'The model service is not reachable right now. Please try again later.';
      case 'not_found': return 'The configured model is not available on the model service.';
      case 'timeout': return 'The model took too long to answer. Please try again.';
      case 'aborted': return 'The request was cancelled.';
      default: return 'The model service returned an error. Please try again later.';
    }
  }
}

export type AdapterErrorKind = 'auth' | 'rate_limited' | 'rejected' | 'network' | 'unavailable';

/**
 * A platform call failed. `rate_limited` and `network` are retried (honouring retryAfterMs);
 * `unavailable` means the recipient cannot be reached now (e.g. no WebSocket client for that chat) and
 * is retried when it comes back; `auth` and `rejected` are permanent.
 */
export class AdapterError extends Error {
  override name = 'AdapterError';
  readonly kind: AdapterErrorKind;
  readonly platform: string;
  readonly retryAfterMs: number | undefined;
  constructor(platform: string, kind: AdapterErrorKind, message: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(`${platform}: ${message}`, { cause: opts.cause });
    this.platform = platform;
    this.kind = kind;
    this.retryAfterMs = opts.retryAfterMs;
  }
  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'network' || this.kind === 'unavailable';
  }
}

/** Usage errors of the command line (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type ExecErrorCode =
  | 'TIMEOUT' | 'NONZERO_EXIT' | 'SPAWN_FAILED' | 'DENIED' | 'BAD_ARGUMENT'
  | 'HOST_KEY' | 'CONNECT_FAILED' | 'UNEXPECTED_STATUS' | 'ABORTED';

/**
 * A catalogue command could not run or did not succeed. `userText` is short and safe to show in a chat
 * (no paths, hosts or secrets); the message and `detail` are for the log and the audit trail.
 */
export class ExecError extends Error {
  override name = 'ExecError';
  readonly code: ExecErrorCode;
  /** What the command printed or answered before it failed (capped), when there is something. */
  readonly output: string | undefined;
  readonly exitCode: number | undefined;
  readonly userText: string;
  constructor(code: ExecErrorCode, message: string, opts: { userText?: string; output?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.output = opts.output;
    this.exitCode = opts.exitCode;
    this.userText = opts.userText ?? defaultExecText(code);
  }
}

function defaultExecText(code: ExecErrorCode): string {
  switch (code) {
    case 'TIMEOUT': return 'The command took too long and was stopped.';
    case 'NONZERO_EXIT': return 'The command failed.';
    case 'SPAWN_FAILED': return 'The command could not be started.';
    case 'DENIED': return 'You are not allowed to run that.';
    case 'BAD_ARGUMENT': return 'That argument is not accepted.';
    case 'HOST_KEY': return 'The server could not be verified, so the command was not run.';
    case 'CONNECT_FAILED': return 'The server could not be reached.';
    case 'UNEXPECTED_STATUS': return 'The service answered with an error.';
    case 'ABORTED': return 'The command was cancelled.';
  }
}
