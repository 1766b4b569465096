// `reply`: a fixed answer rendered from a template; no model involved.
import type { ActionResult } from '../types.ts';

export function runReply(render: () => string): ActionResult {
  return { status: 'ok', text: render() };
}
