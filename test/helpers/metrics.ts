// A MetricsSink that keeps the error components it is told about (the pipeline's side of
// clawdbot_errors_total), for tests that check what is counted without prom-client.
import type { MetricsSink } from '../../src/core/metrics-sink.ts';

export function recordingMetrics(): { sink: MetricsSink; errors: string[] } {
  const errors: string[] = [];
  const none = () => {};
  return { errors, sink: { message: none, error: (c) => { errors.push(c); }, modelRequest: none, command: none, denial: none, memorySearch: none } };
}
