// Reduces Jaeger SPM metric families to per (service, operation) figures and series.
import { fetchMetrics, metricLabel, type MetricKind, type MetricsQuery } from './api';
import type { MetricFamily } from './types';

export interface Series {
  points: (number | null)[];
  avg: number; // mean of the non-null points, NaN when none
  last: number;
}

export interface OpMetrics {
  service: string;
  operation: string; // '' when not grouped by operation
  p50: Series | null;
  p95: Series | null;
  p99: Series | null;
  calls: Series | null; // req/s
  errors: Series | null; // fraction 0..1
}

export function toSeries(points: { gaugeValue?: { doubleValue?: number } }[]): Series {
  const vals = points.map((p) => {
    const v = p.gaugeValue?.doubleValue;
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  });
  const nn = vals.filter((v): v is number => v !== null);
  return { points: vals, avg: nn.length ? nn.reduce((a, b) => a + b, 0) / nn.length : NaN, last: nn.length ? nn[nn.length - 1] : NaN };
}

type Slot = 'p50' | 'p95' | 'p99' | 'calls' | 'errors';

export function mergeFamilies(fams: { slot: Slot; fam: MetricFamily | null }[]): OpMetrics[] {
  const m = new Map<string, OpMetrics>();
  for (const { slot, fam } of fams) {
    if (!fam) continue;
    for (const metric of fam.metrics) {
      const service = metricLabel(metric, 'service_name');
      const operation = metricLabel(metric, 'operation');
      const key = `${service}\u0000${operation}`;
      let row = m.get(key);
      if (!row) m.set(key, (row = { service, operation, p50: null, p95: null, p99: null, calls: null, errors: null }));
      row[slot] = toSeries(metric.metricPoints ?? []);
    }
  }
  return [...m.values()];
}

/** All five RED figures for one service; a metric the server lacks stays null. */
export async function loadRed(service: string, base: Omit<MetricsQuery, 'services'>): Promise<{ rows: OpMetrics[]; failed: number }> {
  const q = { ...base, services: [service] };
  const asks: [Slot, MetricKind, number?][] = [['p50', 'latencies', 0.5], ['p95', 'latencies', 0.95], ['p99', 'latencies', 0.99], ['calls', 'calls'], ['errors', 'errors']];
  let failed = 0;
  const fams = await Promise.all(asks.map(([slot, kind, quantile]) =>
    fetchMetrics(kind, { ...q, quantile }).then((fam) => ({ slot, fam })).catch(() => {
      failed++;
      return { slot, fam: null };
    })));
  return { rows: mergeFamilies(fams), failed };
}

/** Health from error rate and P95 (ms): the thresholds of the project's alerts. */
export function health(errRate: number, p95ms: number): 'ok' | 'warn' | 'bad' | 'unknown' {
  if (!Number.isFinite(errRate) && !Number.isFinite(p95ms)) return 'unknown';
  if ((Number.isFinite(errRate) && errRate > 0.05) || (Number.isFinite(p95ms) && p95ms > 1000)) return 'bad';
  if ((Number.isFinite(errRate) && errRate > 0.01) || (Number.isFinite(p95ms) && p95ms > 500)) return 'warn';
  return 'ok';
}

/** A small SVG polyline of a series (nulls are gaps). */
export function sparkline(points: (number | null)[], cls = '', w = 90, hgt = 22): string {
  const vals = points.filter((v): v is number => v !== null);
  if (!vals.length) return `<svg class="spark ${cls}" width="${w}" height="${hgt}"></svg>`;
  const max = Math.max(...vals) || 1;
  const n = Math.max(1, points.length - 1);
  let d = '';
  let pen = false;
  points.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    const x = (i / n) * (w - 2) + 1;
    const y = hgt - 2 - (v / max) * (hgt - 4);
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  });
  return `<svg class="spark ${cls}" width="${w}" height="${hgt}" viewBox="0 0 ${w} ${hgt}"><path d="${d}"/></svg>`;
}
