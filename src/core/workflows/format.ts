// One line per finished step, for `clawdbot workflow run`: the operator sees what ran, how long it took
// and what it produced (or why it failed), without the whole output.
import { WorkflowError } from './errors.ts';
import type { StepEvent } from './types.ts';

const EXCERPT = 60;

export function formatStep(e: StepEvent): string {
  const indent = '  '.repeat(e.depth);
  const kind = e.branch ? `${e.kind} → ${e.branch}` : e.kind;
  const status = e.status === 'ok' ? 'ok' : e.error instanceof WorkflowError && e.error.kind === 'timeout' ? 'timeout' : 'failed';
  const detail = e.status === 'ok' ? quote(e.output) : e.error ? oneLine(e.error.message, EXCERPT) : '';
  return `${indent}${e.name} (${kind}) ${status} ${duration(e.durationMs)}${detail ? `  ${detail}` : ''}`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function quote(output: string): string {
  return output.trim() === '' ? '' : JSON.stringify(oneLine(output, EXCERPT));
}

/** Whitespace runs (line breaks included) as one space; longer texts cut with an ellipsis. */
function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}
