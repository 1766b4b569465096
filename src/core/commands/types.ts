// The command catalogue: named operations an admin put in config. Nothing else can be run. A command's
// parameters are validated one by one and each fills a whole argv item (or one URL-encoded value):
// user text never meets a shell.
import type { Role } from '../policy.ts';

export interface ParamSpec {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean';
  /** The whole value must match (anchored by the config author; checked with RegExp.test). */
  readonly pattern: RegExp | undefined;
  /** The value must be one of these. */
  readonly enum: readonly string[] | undefined;
  readonly required: boolean;
  readonly default: string | undefined;
  readonly description: string | undefined;
}

export interface LocalRunner {
  readonly kind: 'local';
  /** argv[0] is the program (looked up on PATH); items may be or contain `{{param}}` placeholders. */
  readonly argv: readonly string[];
  readonly cwd: string | undefined;
  /** Names of variables passed through from clawdbot's environment; nothing else is inherited except PATH. */
  readonly envAllow: readonly string[];
  /** Fixed variables set for the command. */
  readonly env: Readonly<Record<string, string>>;
}

export interface SshRunner {
  readonly kind: 'ssh';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Private key file (absolute path); or the agent socket below. */
  readonly privateKeyFile: string | undefined;
  readonly passphrase: string | undefined;
  /** SSH agent socket path (e.g. ${SSH_AUTH_SOCK}). */
  readonly agent: string | undefined;
  /** The server's host key must match an entry here (OpenSSH known_hosts format)... */
  readonly knownHostsFile: string | undefined;
  /** ...or this fingerprint ("SHA256:base64" as ssh-keygen -lf prints it). One of the two is required. */
  readonly fingerprint: string | undefined;
  /** Run remotely; each item is quoted for the remote shell as one word. */
  readonly argv: readonly string[];
}

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

/** `{{param}}` placeholders below are filled by runHttpRequest (src/core/commands/http.ts), which says how each is encoded. */
export interface HttpRequestSpec {
  readonly method: (typeof HTTP_METHODS)[number];
  /** May contain `{{param}}` placeholders; values are URL-encoded (encodeURIComponent) where they land. */
  readonly url: string;
  /** Values may contain placeholders; a value with CR, LF or NUL after filling is refused. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * A string: a text template whose values are percent-encoded (a form body; content-type
   * application/x-www-form-urlencoded unless a header says otherwise). A mapping: sent as JSON, each
   * placeholder inside a string value filled with the raw value (JSON.stringify escapes it). Undefined: no body.
   */
  readonly body: string | { readonly [key: string]: JsonValue } | undefined;
  /** Statuses that count as success (default 200-299). */
  readonly expectStatus: readonly number[] | undefined;
}

export interface HttpRunner extends HttpRequestSpec {
  readonly kind: 'http';
}

export type RunnerSpec = LocalRunner | SshRunner | HttpRunner;

export interface CommandSpec {
  readonly name: string;
  readonly description: string | undefined;
  readonly runner: RunnerSpec;
  /** In order: words after the command fill them one by one. */
  readonly params: readonly ParamSpec[];
  /** Who may run it (default Admin: a command someone forgot to label is not open to everyone). */
  readonly role: readonly Role[];
  /** Waits for an Admin's approval in chat before it runs. */
  readonly approve: boolean;
  readonly timeoutMs: number;
  /** Bytes of output (stdout + stderr, or response body) kept; the rest is dropped and marked. */
  readonly outputCap: number;
}

/** What every runner is held to: a deadline, an output cap and the caller's cancel. */
export interface RunLimits {
  readonly timeoutMs: number;
  /** Bytes of output kept (see CommandSpec.outputCap). */
  readonly outputCap: number;
  readonly signal: AbortSignal;
}

export interface CommandResult {
  /** What the command printed / the service answered, decoded as UTF-8, capped. */
  readonly output: string;
  readonly truncated: boolean;
  /** Process exit code (local, ssh) or HTTP status (http). */
  readonly exitCode: number | undefined;
  readonly durationMs: number;
}
