// Nested deadlines: the workflow's, an `if` step's around its branch, each step's own. A scope aborts
// its signal with a WorkflowError naming whose deadline it was, so the engine can tell "this step timed
// out" (its on_error applies) from "something around it did" (the failure belongs to that owner).
import { WorkflowError } from './errors.ts';

export interface Scope {
  readonly signal: AbortSignal;
  /** performance.now() value at which this scope's time is up. */
  readonly deadline: number;
}

export interface OwnedScope {
  readonly scope: Scope;
  /** Stops the timer and the link to the parent; call when the scope's work is over. */
  dispose(): void;
}

/** The whole run: `timeoutMs` from now, and cancelled (kind aborted) when `outer` aborts. */
export function rootScope(timeoutMs: number, outer: AbortSignal): OwnedScope {
  const ac = new AbortController();
  const cancel = () => ac.abort(new WorkflowError('aborted', undefined));
  if (outer.aborted) cancel();
  else outer.addEventListener('abort', cancel, { once: true });
  const timer = setTimeout(() => ac.abort(new WorkflowError('timeout', undefined, timeoutMs)), timeoutMs);
  return {
    scope: { signal: ac.signal, deadline: performance.now() + timeoutMs },
    dispose() {
      clearTimeout(timer);
      outer.removeEventListener('abort', cancel);
    },
  };
}

/**
 * A step inside `parent`. With no limit of its own, or one that ends after the parent's, the step
 * simply shares the parent's scope: the parent's deadline comes first and is the parent's failure.
 */
export function childScope(parent: Scope, step: string, timeoutMs: number | undefined): OwnedScope {
  const now = performance.now();
  if (timeoutMs === undefined || parent.signal.aborted || now + timeoutMs >= parent.deadline) {
    return { scope: parent, dispose() {} };
  }
  const ac = new AbortController();
  const follow = () => ac.abort(parent.signal.reason);
  parent.signal.addEventListener('abort', follow, { once: true });
  const timer = setTimeout(() => ac.abort(new WorkflowError('timeout', step, timeoutMs)), timeoutMs);
  return {
    scope: { signal: ac.signal, deadline: now + timeoutMs },
    dispose() {
      clearTimeout(timer);
      parent.signal.removeEventListener('abort', follow);
    },
  };
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts: a service that ignores
 * its signal cannot hold the workflow past a deadline or a cancel.
 */
export function race<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {}); // its own failure no longer matters, and must not surface as unhandled
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Milliseconds left in `scope` (at least 1: a finished request still needs a positive timeout). */
export function remainingMs(scope: Scope): number {
  return Math.max(1, Math.ceil(scope.deadline - performance.now()));
}
