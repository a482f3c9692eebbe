// The only place that talks to the server. Everything Jaeger has goes through Jaeger's v1
// query endpoints and shapes; the flowex extras (trace logs, live tail, search summaries)
// report "absent" when the server answers 404 so the pages can hide them or do without.
import {liveSummary} from './live';
import {summarize, type TraceSummary} from './model';
import type {
  DependencyLink, JaegerResponse, JaegerTrace, LogRecord, MetricFamily, Operation,
} from './types';

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

declare global {
  interface Window {
    __flowexPrefetch?: { id: string; trace: Promise<Response> };
  }
}

/** The response index.html started fetching for this path, once. */
function takePrefetched(path: string): Promise<Response> | null {
  const p = window.__flowexPrefetch;
  if (!p || path !== `/api/traces/${encodeURIComponent(p.id)}`) return null;
  window.__flowexPrefetch = undefined;
  return p.trace;
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await (typeof window !== 'undefined' && takePrefetched(path)) || await fetch(path, { headers: { Accept: 'application/json' }, signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach the server (${(e as Error).message})`);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const errs = (body as JaegerResponse<unknown> | null)?.errors;
    const msg = errs && errs.length ? errs.map((e) => e.msg).join('; ') : text.slice(0, 200) || res.statusText;
    throw new ApiError(res.status, `${res.status} ${msg}`);
  }
  if (body === null) throw new ApiError(res.status, `bad JSON from ${path}`);
  return body as T;
}

async function getData<T>(path: string, signal?: AbortSignal): Promise<JaegerResponse<T>> {
  const r = await getJson<JaegerResponse<T>>(path, signal);
  if (r.errors && r.errors.length && (r.data === null || r.data === undefined)) {
    throw new ApiError(500, r.errors.map((e) => e.msg).join('; '));
  }
  return r;
}

const enc = encodeURIComponent;

export async function fetchServices(): Promise<string[]> {
  const r = await getData<string[] | null>('/api/services');
  return (r.data ?? []).slice().sort();
}

export async function fetchOperations(service: string): Promise<string[]> {
  const r = await getData<string[] | null>(`/api/services/${enc(service)}/operations`);
  return (r.data ?? []).slice().sort();
}

export async function fetchOperationsWithKind(service: string, spanKind = ''): Promise<Operation[]> {
  const q = new URLSearchParams({ service });
  if (spanKind) q.set('spanKind', spanKind);
  const r = await getData<Operation[] | null>(`/api/operations?${q}`);
  return r.data ?? [];
}

export async function searchTraces(query: URLSearchParams, signal?: AbortSignal): Promise<JaegerResponse<JaegerTrace[]>> {
  const r = await getData<JaegerTrace[] | null>(`/api/traces?${query}`, signal);
  return { ...r, data: r.data ?? [] };
}

const absent = (e: unknown) => e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501);
let summariesAbsent = false;

/**
 * A search (Jaeger's /api/traces parameters) as one summary per trace: flowex's
 * /api/trace-summaries answers from its index without sending the spans; on a server without
 * it (plain Jaeger: 404, remembered) the full traces of /api/traces are summarised here.
 */
export async function searchTraceSummaries(query: URLSearchParams, signal?: AbortSignal): Promise<JaegerResponse<TraceSummary[]>> {
  if (!summariesAbsent) {
    try {
      const r = await getData<Record<string, unknown>[] | null>(`/api/trace-summaries?${query}`, signal);
      const data: TraceSummary[] = [];
      for (const o of r.data ?? []) {
        const s = liveSummary(o);
        if (s) data.push(s);
      }
      return { ...r, data };
    } catch (e) {
      if (!absent(e)) throw e;
      summariesAbsent = true;
    }
  }
  const r = await searchTraces(query, signal);
  return { ...r, data: r.data.map(summarize) };
}

/**
 * The trace by id. flowex's collector returns at most its span limit of a huge trace (with a
 * warning); `maxSpans` asks for more ('0': all). Plain Jaeger ignores it.
 */
export async function fetchTrace(id: string, maxSpans?: string | null): Promise<JaegerTrace> {
  const q = maxSpans ? `?maxSpans=${encodeURIComponent(maxSpans)}` : '';
  const r = await getData<JaegerTrace[] | null>(`/api/traces/${enc(id)}${q}`);
  const t = (r.data ?? [])[0];
  if (!t) throw new ApiError(404, `trace ${id} not found`);
  return t;
}

/** A trace's log records, and the server's warnings (flowex's collector: records left out by its log limit). */
export interface TraceLogs {
  records: LogRecord[];
  warnings: string[];
}

/**
 * The trace's log records, or null when the server has no such endpoint (plain Jaeger).
 * `maxLogs` asks flowex's collector for more than its limit ('0': all).
 */
export async function fetchTraceLogs(id: string, maxLogs?: string | null): Promise<TraceLogs | null> {
  const q = maxLogs ? `?maxLogs=${encodeURIComponent(maxLogs)}` : '';
  try {
    const r = await getJson<{ data: LogRecord[] | null; warnings?: string[] | null }>(`/api/traces/${enc(id)}/logs${q}`);
    return { records: r.data ?? [], warnings: r.warnings ?? [] };
  } catch (e) {
      if (absent(e)) return null;
      throw e;
  }
}

export async function fetchDependencies(endTsMs: number, lookbackMs: number): Promise<DependencyLink[]> {
  const r = await getData<DependencyLink[] | null>(`/api/dependencies?endTs=${Math.floor(endTsMs)}&lookback=${Math.floor(lookbackMs)}`);
  return r.data ?? [];
}

export type MetricKind = 'latencies' | 'calls' | 'errors';

export interface MetricsQuery {
  services: string[];
  groupByOperation: boolean;
  quantile?: number;
  endTsMs: number;
  lookbackMs: number;
  stepMs: number;
  ratePerMs?: number;
  /** server, client, …, or several; Jaeger's default when absent is server only. */
  spanKind?: string | string[];
}

/** Every span kind Jaeger's SPM API accepts (`spanKind` repeated): what "all span kinds" sends. */
export const ALL_SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/** Jaeger SPM: /api/metrics/{latencies,calls,errors}; latencies in ms, calls per second, errors 0..1. */
export async function fetchMetrics(kind: MetricKind, q: MetricsQuery): Promise<MetricFamily> {
  const p = new URLSearchParams();
  for (const s of q.services) p.append('service', s);
  p.set('endTs', String(Math.floor(q.endTsMs)));
  p.set('lookback', String(Math.floor(q.lookbackMs)));
  p.set('step', String(Math.floor(q.stepMs)));
  p.set('ratePer', String(Math.floor(q.ratePerMs ?? 600_000)));
  for (const k of Array.isArray(q.spanKind) ? q.spanKind : q.spanKind ? [q.spanKind] : []) p.append('spanKind', k);
  if (q.groupByOperation) p.set('groupByOperation', 'true');
  if (kind === 'latencies') p.set('quantile', String(q.quantile ?? 0.95));
  const r = await getJson<MetricFamily | { data: MetricFamily }>(`/api/metrics/${kind}?${p}`);
  // Jaeger answers the family itself; tolerate a {data: family} wrapper too.
  const fam = 'metrics' in r ? r : (r as { data: MetricFamily }).data;
  return { ...fam, metrics: fam?.metrics ?? [] };
}

export function metricLabel(m: { labels: { name: string; value: string }[] }, name: string): string {
  return m.labels.find((l) => l.name === name)?.value ?? '';
}
