// What the pipeline reports to the metrics (src/core/metrics.ts, prom-client). A type only: the
// Prometheus client is loaded when metrics are enabled, and the hot path pays one optional call.
import type { Metrics } from './metrics.ts';

export type MetricsSink = Pick<Metrics, 'message' | 'error' | 'modelRequest' | 'command' | 'denial' | 'memorySearch'>;
