// The search form's state lives in the URL (/search?service=…&lookback=1h&limit=20), so any
// search is a link. This module converts between that URL and the Jaeger /api/traces query.
import { logfmtToJaegerTags, normalizeTagsParam } from './logfmt';
import { parseDuration } from './format';

export const LOOKBACKS: { value: string; label: string }[] = [
  { value: '5m', label: 'Last 5 minutes' },
  { value: '15m', label: 'Last 15 minutes' },
  { value: '30m', label: 'Last 30 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '2h', label: 'Last 2 hours' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '12h', label: 'Last 12 hours' },
  { value: '1d', label: 'Last day' },
  { value: '2d', label: 'Last 2 days' },
  { value: '7d', label: 'Last 7 days' },
  { value: 'custom', label: 'Custom time range' },
];

export const SORTS = [
  { value: 'recent', label: 'Most recent' },
  { value: 'longest', label: 'Longest first' },
  { value: 'shortest', label: 'Shortest first' },
  { value: 'spans', label: 'Most spans' },
  { value: 'errors', label: 'Most errors' },
] as const;
export type SortOrder = (typeof SORTS)[number]['value'];

export interface SearchState {
  service: string;
  operation: string; // '' = all
  tags: string; // logfmt
  lookback: string; // one of LOOKBACKS, or 'custom'
  start: number | null; // µs, custom range only
  end: number | null;
  minDuration: string;
  maxDuration: string;
  limit: number;
  sort: SortOrder;
}

export const DEFAULT_LIMIT = 20;
export const DEFAULT_LOOKBACK = '1h';

export function defaultState(): SearchState {
  return {
    service: '', operation: '', tags: '', lookback: DEFAULT_LOOKBACK, start: null, end: null,
    minDuration: '', maxDuration: '', limit: DEFAULT_LIMIT, sort: 'recent',
  };
}

/** "5m" → µs; unknown → NaN. */
export function lookbackToUs(lb: string): number {
  const m = /^(\d+)([smhdw])$/.exec(lb);
  if (!m) return NaN;
  const n = parseInt(m[1], 10);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return n * unit * 1e6;
}

export function stateFromParams(p: URLSearchParams): SearchState {
  const s = defaultState();
  s.service = p.get('service') ?? '';
  const op = p.get('operation') ?? '';
  s.operation = op === 'all' ? '' : op;
  s.tags = normalizeTagsParam(p.get('tags') ?? '');
  const lb = p.get('lookback');
  if (lb && (lb === 'custom' || Number.isFinite(lookbackToUs(lb)))) s.lookback = lb;
  const start = p.get('start');
  const end = p.get('end');
  if (start && /^\d+$/.test(start)) s.start = Number(start);
  if (end && /^\d+$/.test(end)) s.end = Number(end);
  if (s.lookback === 'custom' && (s.start === null || s.end === null)) s.lookback = DEFAULT_LOOKBACK;
  s.minDuration = p.get('minDuration') ?? '';
  s.maxDuration = p.get('maxDuration') ?? '';
  const lim = parseInt(p.get('limit') ?? '', 10);
  if (Number.isFinite(lim) && lim > 0) s.limit = Math.min(lim, 1500);
  const sort = p.get('sort');
  if (sort && SORTS.some((x) => x.value === sort)) s.sort = sort as SortOrder;
  return s;
}

/** The shareable URL query. Defaults are written too, so a copied link is explicit. */
export function stateToParams(s: SearchState): URLSearchParams {
  const p = new URLSearchParams();
  if (s.service) p.set('service', s.service);
  if (s.operation) p.set('operation', s.operation);
  if (s.tags.trim()) p.set('tags', s.tags.trim());
  p.set('lookback', s.lookback);
  if (s.lookback === 'custom') {
    if (s.start !== null) p.set('start', String(s.start));
    if (s.end !== null) p.set('end', String(s.end));
  }
  if (s.minDuration) p.set('minDuration', s.minDuration);
  if (s.maxDuration) p.set('maxDuration', s.maxDuration);
  p.set('limit', String(s.limit));
  if (s.sort !== 'recent') p.set('sort', s.sort);
  return p;
}

/** The Jaeger v1 /api/traces query for a form state; `nowUs` anchors relative lookbacks. */
export function stateToApiQuery(s: SearchState, nowUs: number): URLSearchParams {
  const p = new URLSearchParams();
  p.set('service', s.service);
  if (s.operation) p.set('operation', s.operation);
  const tags = logfmtToJaegerTags(s.tags);
  if (tags) p.set('tags', tags);
  let start: number;
  let end: number;
  if (s.lookback === 'custom' && s.start !== null && s.end !== null) {
    start = s.start;
    end = s.end;
  } else {
    end = Math.floor(nowUs);
    start = end - lookbackToUs(s.lookback);
    p.set('lookback', s.lookback);
  }
  p.set('start', String(Math.floor(start)));
  p.set('end', String(Math.floor(end)));
  for (const k of ['minDuration', 'maxDuration'] as const) {
    const v = s[k].trim();
    if (!v) continue;
    const us = parseDuration(v);
    if (us === null || !Number.isFinite(us)) throw new Error(`${k}: "${v}" is not a duration (e.g. 100ms, 1.5s)`);
    p.set(k, /[a-zµ]$/.test(v) ? v.replace('µs', 'us') : `${v}ms`);
  }
  p.set('limit', String(s.limit));
  return p;
}
