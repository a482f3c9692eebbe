import { describe, expect, it } from 'vitest';
import { defaultState, lookbackToUs, stateFromParams, stateToApiQuery, stateToParams, type SearchState } from '../../src/urlstate';
import { formatDuration, parseDuration } from '../../src/format';
import { liveSummary } from '../../src/live';
import { toMicros } from '../../src/logs';
import { health, mergeFamilies, toSeries } from '../../src/metrics';
import { sortSummaries } from '../../src/pages/search';
import type { TraceSummary } from '../../src/model';

describe('search URL state', () => {
  it('round-trips every field through the URL', () => {
    const s: SearchState = {
      service: 'client-gateway', operation: 'POST /v1/order', tags: 'error=true user_id=11', lookback: 'custom',
      start: 1_700_000_000_000_000, end: 1_700_000_360_000_000, minDuration: '100ms', maxDuration: '2s', limit: 50, sort: 'longest',
    };
    const url = `/search?${stateToParams(s)}`;
    expect(stateFromParams(new URL(url, 'http://x').searchParams)).toEqual(s);
  });
  it('defaults to the brief\'s form: last hour, 20 traces', () => {
    const s = stateFromParams(new URLSearchParams('service=client-gateway'));
    expect(s).toEqual({ ...defaultState(), service: 'client-gateway' });
    expect(stateToParams(s).toString()).toBe('service=client-gateway&lookback=1h&limit=20');
  });
  it('ignores junk and falls back to defaults', () => {
    const s = stateFromParams(new URLSearchParams('lookback=forever&limit=-3&sort=weird&operation=all&lookback=custom'));
    expect(s.lookback).toBe('1h');
    expect(s.limit).toBe(20);
    expect(s.sort).toBe('recent');
    expect(s.operation).toBe('');
  });
  it('builds Jaeger\'s /api/traces query (µs window, tags JSON, durations)', () => {
    const s = { ...defaultState(), service: 'client-gateway', tags: 'error=true', minDuration: '100', maxDuration: '1.5s' };
    const q = stateToApiQuery(s, 10_000_000_000);
    expect(q.get('service')).toBe('client-gateway');
    expect(q.get('tags')).toBe('{"error":"true"}');
    expect(Number(q.get('end')) - Number(q.get('start'))).toBe(3600e6);
    expect(q.get('lookback')).toBe('1h');
    expect(q.get('minDuration')).toBe('100ms');
    expect(q.get('maxDuration')).toBe('1.5s');
    expect(q.get('limit')).toBe('20');
    expect(q.has('operation')).toBe(false);
    expect(() => stateToApiQuery({ ...s, minDuration: 'soon' }, 0)).toThrow(/minDuration/);
  });
  it('knows the lookbacks from 5m to 7d', () => {
    expect(lookbackToUs('5m')).toBe(300e6);
    expect(lookbackToUs('7d')).toBe(7 * 86400e6);
    expect(lookbackToUs('custom')).toBeNaN();
  });
});

describe('formatting', () => {
  it('formats and parses durations', () => {
    expect(formatDuration(512)).toBe('512µs');
    expect(formatDuration(150_000)).toBe('150ms');
    expect(formatDuration(1_234)).toBe('1.23ms');
    expect(formatDuration(2_500_000)).toBe('2.5s');
    expect(parseDuration('1.5s')).toBe(1.5e6);
    expect(parseDuration('250us')).toBe(250);
    expect(parseDuration('')).toBeNull();
    expect(parseDuration('x')).toBeNaN();
  });
  it('normalises log timestamps to µs', () => {
    expect(toMicros(1_700_000_000_000_000)).toBe(1_700_000_000_000_000);
    expect(toMicros(1_700_000_000_000_000_000)).toBe(1_700_000_000_000_000);
    expect(toMicros(1_700_000_000_000)).toBe(1_700_000_000_000_000);
    expect(toMicros('2023-11-14T22:13:20Z')).toBe(1_700_000_000_000_000);
  });
});

describe('search sort orders', () => {
  const mk = (id: string, start: number, duration: number, spanCount: number): TraceSummary => ({ traceID: id, rootService: '', rootOperation: '', start, duration, spanCount, errorCount: 0, services: [] });
  const list = [mk('a', 1, 30, 5), mk('b', 3, 10, 25), mk('c', 2, 20, 9)];
  it('sorts by recency, duration and span count', () => {
    expect(sortSummaries(list, 'recent').map((s) => s.traceID)).toEqual(['b', 'c', 'a']);
    expect(sortSummaries(list, 'longest').map((s) => s.traceID)).toEqual(['a', 'c', 'b']);
    expect(sortSummaries(list, 'shortest').map((s) => s.traceID)).toEqual(['b', 'c', 'a']);
    expect(sortSummaries(list, 'spans').map((s) => s.traceID)).toEqual(['b', 'c', 'a']);
  });
});

describe('SPM metrics', () => {
  it('merges Jaeger metric families by service and operation', () => {
    const fam = (vals: number[]) => ({ name: 'x', metrics: [{ labels: [{ name: 'service_name', value: 'client-gateway' }, { name: 'operation', value: 'POST /v1/order' }], metricPoints: vals.map((v, i) => ({ gaugeValue: { doubleValue: v }, timestamp: `2026-01-01T00:0${i}:00Z` })) }] });
    const rows = mergeFamilies([{ slot: 'p95', fam: fam([100, 200]) }, { slot: 'errors', fam: fam([0, 0.5]) }, { slot: 'calls', fam: null }]);
    expect(rows).toHaveLength(1);
    expect(rows[0].p95!.avg).toBe(150);
    expect(rows[0].errors!.last).toBe(0.5);
    expect(rows[0].calls).toBeNull();
    expect(toSeries([{ gaugeValue: {} }]).avg).toBeNaN();
  });
  it('colours health by the alert thresholds', () => {
    expect(health(0, 100)).toBe('ok');
    expect(health(0.02, 100)).toBe('warn');
    expect(health(0, 700)).toBe('warn');
    expect(health(0.1, 100)).toBe('bad');
    expect(health(NaN, NaN)).toBe('unknown');
  });
});

describe('live events', () => {
  it('reads a summary in several spellings', () => {
    expect(liveSummary({ traceID: 'ab', rootService: 'client-gateway', rootOperation: 'POST /v1/order', startTime: 1_700_000_000_000_000, duration: 150000, spanCount: 25, errorCount: 2, services: ['client-gateway'] }))
      .toMatchObject({ traceID: 'ab', rootService: 'client-gateway', duration: 150000, errorCount: 2, services: [{ name: 'client-gateway' }] });
    expect(liveSummary({ trace_id: 'cd', service: 's', name: 'op', durationMs: 3, hasError: true })).toMatchObject({ traceID: 'cd', duration: 3000, errorCount: 1 });
    expect(liveSummary({ nothing: 1 })).toBeNull();
  });
});
