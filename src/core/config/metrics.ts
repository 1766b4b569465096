// The `metrics:` section (the seed's 4.3): whether the gateway serves Prometheus metrics, where, behind
// which token, and the alert rules `clawdbot metrics rules` writes as a Prometheus rule file. Rules are
// checked here as far as Prometheus itself would check them without parsing PromQL (alert and label
// names, string maps), so the rule file loads; `promtool check rules` checks the expressions.
import { array, nullish, record, type output } from 'zod/mini';
import { bool, duration, matching, nonEmpty, obj, str, text, urlPathOf, val } from './kit.ts';

export interface AlertRule {
  /** The alert's name (Prometheus `alert:`). */
  readonly name: string;
  /** A PromQL expression; the alert fires for every series it returns. */
  readonly expr: string;
  /** How long the expression must hold before the alert fires (Prometheus `for:`), in ms. */
  readonly forMs: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface MetricsConfig {
  readonly enabled: boolean;
  /** URL path on the gateway's listener. */
  readonly endpoint: string;
  /** Bearer token scrapers must send; without one the endpoint takes the gateway's API key. */
  readonly token: string | undefined;
  readonly rules: readonly AlertRule[];
}

export const METRICS_DEFAULTS = { enabled: false, endpoint: '/metrics' } as const;

/** Prometheus' metric-name syntax, which it also requires of alert names (rulefmt). */
const ALERT_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
/** Label and annotation names; names starting with `__` are reserved for Prometheus itself. */
const LABEL_NAME = /^(?!__)[A-Za-z_][A-Za-z0-9_]*$/;

/** A mapping of label names to texts (numbers are taken as their text, as elsewhere in the config). */
function stringMap(what: string) {
  return record(matching(LABEL_NAME), val('a text', str), {
    error: (iss) => (iss.code === 'invalid_key'
      ? `expected ${what} names of letters, digits and _ (not starting with a digit or __), got the name ${JSON.stringify(iss.input)}`
      : iss.code === 'invalid_type' ? `expected a mapping of ${what} names to texts` : undefined),
  });
}

const rule = obj({
  name: val('an alert name of letters, digits, _ and : (not starting with a digit), like high_error_rate', (v) => (typeof v === 'string' && ALERT_NAME.test(v) ? v : undefined)),
  expr: val('a PromQL expression, like rate(clawdbot_errors_total[5m]) > 0.1', nonEmpty),
  for: nullish(duration(0)),
  labels: nullish(stringMap('label')),
  annotations: nullish(stringMap('annotation')),
});

export const metricsSection = obj({
  enabled: nullish(bool),
  endpoint: nullish(urlPathOf('a URL path starting with /, like /metrics')),
  token: nullish(text('a bearer token Prometheus sends (use ${METRICS_TOKEN})')),
  rules: nullish(array(rule, { error: 'expected a list of alert rules (- name: NAME, expr: PROMQL, labels: {...}, annotations: {...})' })),
});

export type RawMetrics = output<typeof metricsSection>;

/**
 * Used when no `rules:` are written (an empty list means "no rules"): the seed's alert as written, plus
 * the signals an operator of a chat gateway needs first. Series names are the ones src/core/metrics.ts
 * registers.
 */
export const DEFAULT_RULES: readonly AlertRule[] = [
  {
    name: 'high_error_rate',
    expr: 'rate(clawdbot_errors_total[5m]) > 0.1',
    forMs: undefined,
    labels: { severity: 'critical' },
    annotations: { summary: 'High error rate detected', description: 'Error rate exceeded threshold' },
  },
  {
    name: 'adapter_disconnected',
    expr: 'clawdbot_adapter_connected == 0',
    forMs: 5 * 60_000,
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Chat platform {{ $labels.platform }} is disconnected',
      description: 'The {{ $labels.platform }} adapter on {{ $labels.instance }} has not been connected for 5 minutes; messages from it are not received.',
    },
  },
  {
    name: 'model_latency_high',
    expr: 'histogram_quantile(0.95, sum by (instance, le) (rate(clawdbot_model_request_duration_seconds_bucket[10m]))) > 30',
    forMs: 10 * 60_000,
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Model answers slowly',
      description: '95% of model requests on {{ $labels.instance }} took up to {{ $value | humanizeDuration }} over the last 10 minutes.',
    },
  },
  {
    name: 'queue_backlog',
    expr: 'clawdbot_queue_depth > 20',
    forMs: 10 * 60_000,
    labels: { severity: 'warning' },
    annotations: {
      summary: 'Messages are waiting',
      description: '{{ $value }} messages on {{ $labels.instance }} have been waiting for a turn for 10 minutes.',
    },
  },
];

export function compileMetrics(raw: RawMetrics | null | undefined): MetricsConfig {
  return {
    enabled: raw?.enabled ?? METRICS_DEFAULTS.enabled,
    endpoint: raw?.endpoint ?? METRICS_DEFAULTS.endpoint,
    token: raw?.token || undefined,
    rules: raw?.rules
      ? raw.rules.map((r) => ({ name: r.name, expr: r.expr, forMs: r.for ?? undefined, labels: r.labels ?? {}, annotations: r.annotations ?? {} }))
      : DEFAULT_RULES,
  };
}
