// `clawdbot metrics rules [--out FILE]`: the config's `metrics.rules` (the seed's format) as a Prometheus
// rule file, for Prometheus' `rule_files:`. Check it with `promtool check rules FILE`.
import { writeFileSync } from 'node:fs';
import { Document } from 'yaml';
import { loadConfig } from '../core/config/load.ts';
import { DEFAULT_RULES, type AlertRule } from '../core/config/metrics.ts';
import type { GlobalOptions } from './context.ts';

export const RULE_GROUP = 'clawdbot';

const UNITS: readonly [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];

/** Milliseconds in Prometheus' duration syntax ("1h30m", "90s" as "1m30s", "0s"). */
export function promDuration(ms: number): string {
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || '0s';
}

/** The rule file's YAML: one group of alerting rules, empty label and annotation maps left out. */
export function renderRules(rules: readonly AlertRule[], source: string): string {
  const doc = new Document({
    groups: [{
      name: RULE_GROUP,
      rules: rules.map((r) => ({
        alert: r.name,
        expr: r.expr,
        ...(r.forMs !== undefined && { for: promDuration(r.forMs) }),
        ...(Object.keys(r.labels).length > 0 && { labels: r.labels }),
        ...(Object.keys(r.annotations).length > 0 && { annotations: r.annotations }),
      })),
    }],
  });
  doc.commentBefore = ` Prometheus alerting rules from ${source}, written by \`clawdbot metrics rules\`.\n Check with: promtool check rules FILE`;
  return doc.toString({ lineWidth: 0 });
}

export async function runMetricsRules(opts: GlobalOptions & { out?: string }): Promise<number> {
  const config = loadConfig({ file: opts.config });
  const { rules } = config.metrics;
  const file = config.file ?? 'the built-in defaults';
  const text = renderRules(rules, rules === DEFAULT_RULES ? `clawdbot's default set (${file} has no metrics.rules)` : file);
  if (opts.out) {
    writeFileSync(opts.out, text);
    process.stderr.write(`wrote ${rules.length} rule(s) to ${opts.out}\n`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
