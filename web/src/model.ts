// The trace model the pages draw: a tree of spans built from a Jaeger trace, with the
// derived figures (depth, self time, critical path, statistics) computed once.
import type { JaegerTrace, JaegerSpan, KeyValue, JaegerProcess } from './types';

export interface Span {
  spanID: string;
  traceID: string;
  operationName: string;
  service: string;
  process: JaegerProcess;
  start: number; // µs since epoch
  duration: number; // µs
  end: number;
  tags: KeyValue[];
  raw: JaegerSpan;
  parent: Span | null;
  children: Span[];
  depth: number; // 0 for a root
  isError: boolean;
  kind: string;
  selfTime: number; // µs not covered by children
}

export interface Trace {
  traceID: string;
  spans: Span[]; // depth-first order, children by start time
  roots: Span[];
  byId: Map<string, Span>;
  start: number;
  end: number;
  duration: number;
  services: string[];
  depth: number; // levels, a lone root is 1
  errorCount: number;
  raw: JaegerTrace;
}

export function tagValue(tags: KeyValue[] | null | undefined, key: string): KeyValue['value'] | undefined {
  if (!tags) return undefined;
  for (const t of tags) if (t.key === key) return t.value;
  return undefined;
}

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === 1;
}

/** A span is in error when Jaeger's `error` tag is true or its OTel status is ERROR. */
export function spanIsError(tags: KeyValue[] | null | undefined): boolean {
  if (!tags) return false;
  for (const t of tags) {
    if (t.key === 'error' && truthy(t.value)) return true;
    if (t.key === 'otel.status_code' && String(t.value).toUpperCase() === 'ERROR') return true;
  }
  return false;
}

/** The parent span id: the first CHILD_OF reference, else the first reference. */
export function parentRef(span: JaegerSpan): string | null {
  const refs = span.references ?? [];
  const childOf = refs.find((r) => r.refType === 'CHILD_OF' && r.traceID === span.traceID)
    ?? refs.find((r) => r.refType === 'CHILD_OF');
  const ref = childOf ?? refs[0];
  return ref ? ref.spanID : null;
}

/**
 * Whether a span matches the trace page's "Find" text: every word (case-insensitive) is part of
 * its service, operation, span ID, or one of its or its process's attributes as `key=value`.
 */
export function spanMatches(s: Span, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return false;
  const fields = [s.service, s.operationName, s.spanID];
  for (const t of s.tags) fields.push(`${t.key}=${String(t.value)}`);
  for (const t of s.process.tags ?? []) fields.push(`${t.key}=${String(t.value)}`);
  const text = fields.join('\n').toLowerCase();
  return words.every((w) => text.includes(w));
}

/** Builds the span tree. Spans whose parent is missing become roots (Jaeger does the same). */
export function buildTrace(raw: JaegerTrace): Trace {
  const byId = new Map<string, Span>();
  for (const s of raw.spans) {
    const process = raw.processes?.[s.processID] ?? { serviceName: s.processID || 'unknown', tags: [] };
    const tags = s.tags ?? [];
    const kind = tagValue(tags, 'span.kind');
    if (byId.has(s.spanID)) continue; // duplicates (e.g. zipkin shared spans) keep the first
    byId.set(s.spanID, {
      spanID: s.spanID,
      traceID: s.traceID,
      operationName: s.operationName,
      service: process.serviceName,
      process,
      start: s.startTime,
      duration: s.duration,
      end: s.startTime + s.duration,
      tags,
      raw: s,
      parent: null,
      children: [],
      depth: 0,
      isError: spanIsError(tags),
      kind: kind === undefined ? '' : String(kind),
      selfTime: s.duration,
    });
  }
  const roots: Span[] = [];
  for (const span of byId.values()) {
    const pid = parentRef(span.raw);
    const parent = pid !== null && pid !== span.spanID ? byId.get(pid) : undefined;
    if (parent) {
      span.parent = parent;
      parent.children.push(span);
    } else {
      roots.push(span);
    }
  }
  // Break reference cycles: any span not reachable from a root becomes a root.
  const ordered: Span[] = [];
  const seen = new Set<Span>();
  const byStart = (a: Span, b: Span) => a.start - b.start || a.spanID.localeCompare(b.spanID);
  const visit = (root: Span) => {
    const stack: Span[] = [root];
    root.depth = 0;
    while (stack.length) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      ordered.push(s);
      s.children.sort(byStart);
      for (let i = s.children.length - 1; i >= 0; i--) {
        const c = s.children[i];
        c.depth = s.depth + 1;
        stack.push(c);
      }
    }
  };
  roots.sort(byStart);
  for (const r of roots) visit(r);
  for (const s of byId.values()) {
    if (!seen.has(s)) {
      if (s.parent) s.parent.children = s.parent.children.filter((c) => c !== s);
      s.parent = null;
      roots.push(s);
      visit(s);
    }
  }
  let start = Infinity;
  let end = -Infinity;
  let depth = 0;
  let errorCount = 0;
  const services = new Set<string>();
  for (const s of ordered) {
    start = Math.min(start, s.start);
    end = Math.max(end, s.end);
    depth = Math.max(depth, s.depth + 1);
    if (s.isError) errorCount++;
    services.add(s.service);
    s.selfTime = selfTime(s);
  }
  if (!ordered.length) {
    start = 0;
    end = 0;
  }
  return {
    traceID: raw.traceID,
    spans: ordered,
    roots,
    byId,
    start,
    end,
    duration: end - start,
    services: [...services].sort(),
    depth,
    errorCount,
    raw,
  };
}

/** Span duration minus the union of its children's intervals (clipped to the span). */
export function selfTime(span: { start: number; end: number; children: { start: number; end: number }[] }): number {
  const ivs = span.children
    .map((c) => [Math.max(c.start, span.start), Math.min(c.end, span.end)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let curS = -Infinity;
  let curE = -Infinity;
  for (const [a, b] of ivs) {
    if (a > curE) {
      if (curE > curS) covered += curE - curS;
      curS = a;
      curE = b;
    } else if (b > curE) {
      curE = b;
    }
  }
  if (curE > curS) covered += curE - curS;
  return Math.max(0, span.end - span.start - covered);
}

export interface CriticalSegment {
  spanID: string;
  start: number;
  end: number;
}

/**
 * The critical path (as Jaeger computes it): walking back from a span's end, the last
 * child to finish before the cursor is on the path, then the cursor moves to that child's
 * start; the gaps between are the span's own time. Children are clipped to their parent.
 */
export function criticalPath(trace: Pick<Trace, 'roots'>): CriticalSegment[] {
  const segs: CriticalSegment[] = [];
  if (!trace.roots.length) return segs;
  // The root that ends last carries the path.
  const root = trace.roots.reduce((a, b) => (b.end > a.end ? b : a));
  const walk = (span: Span, limit: number) => {
    const spanEnd = Math.min(span.end, limit);
    let cursor = spanEnd;
    const kids = span.children
      .map((c) => ({ c, s: Math.max(c.start, span.start), e: Math.min(c.end, spanEnd) }))
      .filter((k) => k.e > k.s)
      .sort((a, b) => b.e - a.e);
    for (const k of kids) {
      if (cursor <= span.start) break;
      if (k.e > cursor) continue; // overlaps the part already on the path
      if (cursor > k.e) segs.push({ spanID: span.spanID, start: k.e, end: cursor });
      walk(k.c, k.e);
      cursor = k.s;
    }
    if (cursor > span.start) segs.push({ spanID: span.spanID, start: span.start, end: cursor });
  };
  walk(root, root.end);
  return segs.sort((a, b) => a.start - b.start);
}

export interface OpStats {
  service: string;
  operation: string;
  count: number;
  total: number;
  self: number;
  min: number;
  max: number;
  errors: number;
}

/** Statistics by service and operation: count, total, self time, min/max, errors. */
export function statsByOperation(trace: Pick<Trace, 'spans'>): OpStats[] {
  const m = new Map<string, OpStats>();
  for (const s of trace.spans) {
    const key = s.service + '\u0000' + s.operationName;
    let st = m.get(key);
    if (!st) {
      st = { service: s.service, operation: s.operationName, count: 0, total: 0, self: 0, min: Infinity, max: 0, errors: 0 };
      m.set(key, st);
    }
    st.count++;
    st.total += s.duration;
    st.self += s.selfTime;
    st.min = Math.min(st.min, s.duration);
    st.max = Math.max(st.max, s.duration);
    if (s.isError) st.errors++;
  }
  return [...m.values()].sort((a, b) => b.self - a.self);
}

export interface ServiceStats {
  service: string;
  spans: number;
  self: number;
  errors: number;
}

export function statsByService(trace: Pick<Trace, 'spans'>): ServiceStats[] {
  const m = new Map<string, ServiceStats>();
  for (const s of trace.spans) {
    let st = m.get(s.service);
    if (!st) {
      st = { service: s.service, spans: 0, self: 0, errors: 0 };
      m.set(s.service, st);
    }
    st.spans++;
    st.self += s.selfTime;
    if (s.isError) st.errors++;
  }
  return [...m.values()].sort((a, b) => b.self - a.self);
}

/** What a search result row shows, computed without building the full tree. */
export interface TraceSummary {
  traceID: string;
  rootService: string;
  rootOperation: string;
  start: number;
  duration: number;
  spanCount: number;
  errorCount: number;
  services: { name: string; count: number; errors: number }[];
}

export function summarize(raw: JaegerTrace): TraceSummary {
  // One pass per trace with plain loops: a 1,000-trace search summarises 25,000 spans.
  let start = Infinity;
  let end = -Infinity;
  let errorCount = 0;
  const spans = raw.spans;
  const ids = new Set<string>();
  for (let i = 0; i < spans.length; i++) ids.add(spans[i].spanID);
  const svc = new Map<string, { name: string; count: number; errors: number }>();
  let root: JaegerSpan | null = null;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    const e0 = s.startTime + s.duration;
    if (s.startTime < start) start = s.startTime;
    if (e0 > end) end = e0;
    const err = spanIsError(s.tags);
    if (err) errorCount++;
    const name = raw.processes?.[s.processID]?.serviceName ?? s.processID;
    let e = svc.get(name);
    if (!e) svc.set(name, (e = { name, count: 0, errors: 0 }));
    e.count++;
    if (err) e.errors++;
    const refs = s.references;
    let isRoot = true;
    if (refs) for (let j = 0; j < refs.length; j++) if (ids.has(refs[j].spanID)) { isRoot = false; break; }
    if (isRoot && (root === null || s.startTime < root.startTime)) root = s;
  }
  const rootService = root ? raw.processes?.[root.processID]?.serviceName ?? root.processID : '';
  return {
    traceID: raw.traceID,
    rootService,
    rootOperation: root ? root.operationName : '',
    start: spans.length ? start : 0,
    duration: spans.length ? end - start : 0,
    spanCount: spans.length,
    errorCount,
    services: [...svc.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}
