// The flowex log records of a trace (GET /api/traces/{id}/logs), normalised.
import type { KeyValue, LogRecord } from './types';

export interface TraceLog {
  time: number; // µs since epoch
  severity: string;
  body: string;
  attributes: [string, string][];
  spanID: string;
  service: string;
}

/** Accepts µs (Jaeger's unit), ns or ms epoch numbers, or RFC 3339 strings; returns µs. */
export function toMicros(ts: number | string): number {
  if (typeof ts === 'string') {
    if (/^\d+$/.test(ts)) return toMicros(Number(ts));
    const ms = Date.parse(ts);
    return Number.isFinite(ms) ? ms * 1000 : 0;
  }
  if (ts > 1e17) return Math.floor(ts / 1000); // ns
  if (ts < 1e14) return ts * 1000; // ms
  return ts;
}

function attrValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function normalizeLogs(records: LogRecord[]): TraceLog[] {
  return records
    .map((r) => {
      let attributes: [string, string][] = [];
      if (Array.isArray(r.attributes)) attributes = (r.attributes as KeyValue[]).map((kv) => [kv.key, attrValue(kv.value)]);
      else if (r.attributes && typeof r.attributes === 'object') attributes = Object.entries(r.attributes).map(([k, v]) => [k, attrValue(v)]);
      return {
        time: toMicros(r.timestamp ?? 0),
        severity: (r.severity ?? 'INFO').toUpperCase(),
        body: attrValue(r.body ?? ''),
        attributes,
        spanID: r.spanID ?? '',
        service: r.service ?? '',
      };
    })
    .sort((a, b) => a.time - b.time);
}
