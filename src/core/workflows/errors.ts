// Failures the engine itself produces (the services bring their own: ModelError, ExecError).

export type WorkflowErrorKind = 'timeout' | 'aborted';

/**
 * A deadline passed or the run was cancelled. `step` names the step whose own timeout it was;
 * undefined means the whole workflow's deadline (kind timeout) or the caller's signal (kind aborted).
 */
export class WorkflowError extends Error {
  override name = 'WorkflowError';
  readonly kind: WorkflowErrorKind;
  readonly step: string | undefined;
  readonly userText: string;
  constructor(kind: WorkflowErrorKind, step: string | undefined, limitMs?: number) {
    const what = step === undefined ? 'the workflow' : `step ${step}`;
    super(kind === 'timeout' ? `${what} timed out after ${limitMs} ms` : 'the workflow was cancelled');
    this.kind = kind;
    this.step = step;
    this.userText =
      kind === 'aborted' ? 'The workflow was cancelled.'
        : step === undefined ? 'The workflow took too long and was stopped.'
          : `Step ${step} took too long and was stopped.`;
  }
}

/** The short text a user is told about a failed step: the error's own, or a neutral one. */
export function failureText(err: Error, step: string): string {
  const t = (err as { userText?: unknown }).userText;
  return typeof t === 'string' && t !== '' ? t : `Step ${step} failed.`;
}
