// Live tail events (/api/live, event `trace`) normalised to a trace summary. The event's
// exact field names are tolerated in the common spellings, or a whole Jaeger trace.
import { toMicros } from './logs';
import { summarize, type TraceSummary } from './model';
import type { JaegerTrace } from './types';

type Obj = Record<string, unknown>;

function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

export function liveSummary(o: Obj): TraceSummary | null {
  if (Array.isArray(o.spans) && o.processes) return summarize(o as unknown as JaegerTrace);
  const traceID = pick(o, 'traceID', 'traceId', 'trace_id', 'id');
  if (typeof traceID !== 'string' || !traceID) return null;
  const startRaw = pick(o, 'startTime', 'start', 'start_time', 'startTimeUnixNano', 'timestamp');
  const start = startRaw === undefined ? Date.now() * 1000 : toMicros(startRaw as number | string);
  let duration = Number(pick(o, 'duration', 'durationUs', 'duration_us') ?? NaN);
  if (!Number.isFinite(duration)) {
    const ms = Number(pick(o, 'durationMs', 'duration_ms') ?? NaN);
    const ns = Number(pick(o, 'durationNanos', 'duration_ns', 'durationNano') ?? NaN);
    duration = Number.isFinite(ms) ? ms * 1000 : Number.isFinite(ns) ? ns / 1000 : 0;
  }
  const svcRaw = pick(o, 'services', 'serviceNames');
  const services: TraceSummary['services'] = Array.isArray(svcRaw)
    ? svcRaw.map((s) => (typeof s === 'string' ? { name: s, count: 0, errors: 0 } : { name: String((s as Obj).name ?? (s as Obj).service ?? ''), count: Number((s as Obj).count ?? (s as Obj).numberOfSpans ?? 0), errors: Number((s as Obj).errors ?? 0) }))
    : [];
  const rootService = String(pick(o, 'rootService', 'root_service', 'rootServiceName', 'service', 'serviceName') ?? services[0]?.name ?? '');
  const rootOperation = String(pick(o, 'rootOperation', 'root_operation', 'rootTraceName', 'rootSpanName', 'operationName', 'operation', 'name') ?? '');
  let errorCount = Number(pick(o, 'errorCount', 'errors', 'error_count', 'errorSpans') ?? NaN);
  if (!Number.isFinite(errorCount)) {
    const e = pick(o, 'hasError', 'error', 'isError');
    errorCount = e === true || e === 'true' ? 1 : 0;
  }
  return {
    traceID, rootService, rootOperation, start, duration,
    spanCount: Number(pick(o, 'spanCount', 'span_count', 'numSpans', 'spans') ?? 0) || 0,
    errorCount, services,
  };
}
