// Why an attachment could not be read. The processor turns these into a short reply (a value, never a
// crash); `message` holds the detail for the log, `userText` what the person in the chat is told.

export type MediaErrorKind = 'too_large' | 'unsupported' | 'encrypted' | 'corrupt' | 'empty';

export class MediaError extends Error {
  override name = 'MediaError';
  readonly kind: MediaErrorKind;
  readonly userText: string;
  constructor(kind: MediaErrorKind, message: string, opts: { userText?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.userText = opts.userText ?? DEFAULT_TEXT[kind];
  }
}

const DEFAULT_TEXT: Readonly<Record<MediaErrorKind, string>> = {
  too_large: 'That file is too large for me to read.',
  unsupported: "I can't read that kind of file.",
  encrypted: 'That document is password-protected, so I can\'t read it. Please send a copy without a password.',
  corrupt: 'That file looks damaged or incomplete, so I can\'t read it. Please try sending it again.',
  empty: 'That file has no text I can read (it may be empty, or a scan without a text layer).',
};
