// Routing: the first rule whose conditions all hold wins; the `default` rule applies when none does.
// `explain` returns the reasoning for `clawdbot route explain`.
import type { Route, RouteMatch } from './types.ts';

export interface RouteInput {
  readonly platform: string;
  readonly text: string;
  readonly role: string;
}

export interface RuleVerdict {
  readonly route: Route;
  readonly matched: boolean;
  /** One line per condition: what was checked and whether it held. */
  readonly reasons: readonly string[];
}

export interface Explanation {
  readonly route: Route | null;
  readonly verdicts: readonly RuleVerdict[];
}

export function matchRoute(routes: readonly Route[], input: RouteInput): Route | null {
  let fallback: Route | null = null;
  for (const r of routes) {
    if (r.match === null) fallback ??= r;
    else if (holds(r.match, input)) return r;
  }
  return fallback;
}

export function explainRoute(routes: readonly Route[], input: RouteInput): Explanation {
  const verdicts: RuleVerdict[] = [];
  let chosen: Route | null = null;
  for (const r of routes) {
    if (r.match === null) {
      verdicts.push({ route: r, matched: false, reasons: ['default rule: used only when no other rule matches'] });
      continue;
    }
    const reasons = conditions(r.match, input).map((c) => `${c.ok ? 'yes' : 'no '} ${c.text}`);
    const matched = !chosen && conditions(r.match, input).every((c) => c.ok);
    if (matched) chosen = r;
    verdicts.push({ route: r, matched, reasons });
  }
  if (!chosen) {
    const fallback = routes.find((r) => r.match === null) ?? null;
    if (fallback) {
      chosen = fallback;
      const i = verdicts.findIndex((v) => v.route === fallback);
      verdicts[i] = { route: fallback, matched: true, reasons: ['default rule: no other rule matched'] };
    }
  }
  return { route: chosen, verdicts };
}

// The hot path: no allocation beyond the trim, conditions checked cheapest first.
function holds(m: RouteMatch, input: RouteInput): boolean {
  if (m.platform && !m.platform.includes(input.platform)) return false;
  if (m.role && !m.role.includes(input.role)) return false;
  const text = input.text.trim();
  if (m.content !== undefined && text !== m.content) return false;
  if (m.contentPrefix !== undefined && !text.startsWith(m.contentPrefix)) return false;
  if (m.contentRegex && !m.contentRegex.test(text)) return false;
  return true;
}

function conditions(m: RouteMatch, input: RouteInput): { ok: boolean; text: string }[] {
  const text = input.text.trim();
  const out: { ok: boolean; text: string }[] = [];
  const q = JSON.stringify;
  if (m.platform) out.push({ ok: m.platform.includes(input.platform), text: `platform ${q(input.platform)} in [${m.platform.map((p) => q(p)).join(', ')}]` });
  if (m.role) out.push({ ok: m.role.includes(input.role), text: `role ${q(input.role)} in [${m.role.map((p) => q(p)).join(', ')}]` });
  if (m.content !== undefined) out.push({ ok: text === m.content, text: `content equals ${q(m.content)}` });
  if (m.contentPrefix !== undefined) out.push({ ok: text.startsWith(m.contentPrefix), text: `content starts with ${q(m.contentPrefix)}` });
  if (m.contentRegex) out.push({ ok: m.contentRegex.test(text), text: `content matches ${String(m.contentRegex)}` });
  return out;
}
