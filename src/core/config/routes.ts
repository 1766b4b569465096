// Routes and actions in their final form: validated rules become Route values with the place they were
// written; the built-in actions are merged with the config's `actions:`.
import type { Role } from '../policy.ts';
import type { Action, Route, RouteMatch } from '../types.ts';
import type { RawAction, RawRoute } from './schema.ts';

export const WELCOME_ACTION = 'send_welcome_message';
export const LLM_ACTION = 'process_with_llm';
/** The seed's routing.yaml points `!help` here; a workflow of this name in config replaces it. */
export const HELP_ACTION = 'trigger_help_workflow';
/** The seed's media handlers (media_processors.*.handler): a workflow of the same name replaces one. */
export const MEDIA_ACTIONS = ['image_analysis_workflow', 'document_extraction_workflow'] as const;
const EVERYONE: readonly Role[] = ['User'];
const DEFAULT_TOOL_ROUNDS = 4;

/** Kept small on purpose: a local model on 2 cores answers sooner the shorter the prompt. */
export const DEFAULT_SYSTEM_PROMPT = 'You are {{system.name}}, a concise, helpful assistant. Today is {{date}}.';
export const WELCOME_TEXT = "Hi! I'm {{system.name}}, your assistant. Just type a question and I'll answer.";

export interface ActionDefaults {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly historyTurns: number;
}

export function builtinActions(d: ActionDefaults): Map<string, Action> {
  return new Map<string, Action>([
    [WELCOME_ACTION, { kind: 'reply', name: WELCOME_ACTION, role: EVERYONE, template: WELCOME_TEXT }],
    [LLM_ACTION, { kind: 'llm', name: LLM_ACTION, role: EVERYONE, system: DEFAULT_SYSTEM_PROMPT, ...d, tools: [], maxToolRounds: DEFAULT_TOOL_ROUNDS }],
    [HELP_ACTION, { kind: 'help', name: HELP_ACTION, role: EVERYONE }],
    ...MEDIA_ACTIONS.map((name): [string, Action] => [name, { kind: 'media', name, role: EVERYONE }]),
  ]);
}

/** Built-ins first, then the config's actions (which may replace a built-in of the same name). */
export function compileActions(raw: Record<string, RawAction> | null | undefined, d: ActionDefaults): Map<string, Action> {
  const actions = builtinActions(d);
  for (const [name, a] of Object.entries(raw ?? {})) {
    actions.set(
      name,
      a.type === 'reply'
        ? { kind: 'reply', name, role: a.role ?? EVERYONE, template: a.text }
        : {
            kind: 'llm',
            name,
            role: a.role ?? EVERYONE,
            system: a.system ?? DEFAULT_SYSTEM_PROMPT,
            maxTokens: a.max_tokens ?? d.maxTokens,
            temperature: a.temperature ?? d.temperature,
            historyTurns: a.history ?? d.historyTurns,
            tools: a.tools ?? [],
            maxToolRounds: a.max_tool_rounds ?? DEFAULT_TOOL_ROUNDS,
          },
    );
  }
  return actions;
}

/** The rules used when the config has neither `routes:` nor `routes_file:`: everything goes to the model. */
export const DEFAULT_ROUTES: readonly Route[] = [{ index: 0, match: null, action: LLM_ACTION, source: 'built-in default' }];

/** `sourceOf(i)` says where rule i was written ("routing.yaml:6:5"). */
export function compileRoutes(raw: readonly RawRoute[], sourceOf: (i: number) => string): Route[] {
  return raw.map((r, index) => {
    const source = sourceOf(index);
    if (r.default != null) return { index, match: null, action: r.default.action, source };
    const m = r.match!;
    const match: RouteMatch = {
      ...(m.platform != null && { platform: m.platform }),
      ...(m.content != null && { content: m.content }),
      ...(m.content_prefix != null && { contentPrefix: m.content_prefix }),
      ...(m.content_regex != null && { contentRegex: m.content_regex }),
      ...(m.role != null && { role: m.role }),
    };
    return { index, match, action: r.action!, source };
  });
}

/**
 * "At most one default rule", checked on the raw YAML data (so it is found even when other rules have
 * problems). `at(i)` is the position of rule i's `default:` key.
 */
export function extraDefaultProblems(rawRoutes: unknown, at: (i: number) => string, label: string): string[] {
  if (!Array.isArray(rawRoutes)) return [];
  const isDefault = (r: unknown) => r !== null && typeof r === 'object' && 'default' in r;
  const first = rawRoutes.findIndex(isDefault);
  return rawRoutes.flatMap((r, i) =>
    i > first && isDefault(r) ? [`${at(i)}: ${label}[${i}].default: expected at most one default rule, got a second one (the first is ${label}[${first}] at ${at(first)})`] : [],
  );
}

/** One warning per rule that names an action nobody defined (doctor fails on these; loading does not). */
export function unknownActionWarnings(routes: readonly Route[], names: ReadonlySet<string>): string[] {
  return routes
    .filter((r) => !names.has(r.action))
    .map((r) => `route at ${r.source} points at unknown action "${r.action}" (defined: ${[...names].join(', ')})`);
}
