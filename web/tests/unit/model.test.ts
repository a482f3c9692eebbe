import { describe, expect, it } from 'vitest';
import { buildTrace, criticalPath, selfTime, spanIsError, spanMatches, statsByOperation, statsByService, summarize } from '../../src/model';
import type { JaegerSpan, JaegerTrace } from '../../src/types';

const T = 'a'.repeat(32);
function sp(id: string, parent: string | null, start: number, dur: number, service = 'svc', op = id, tags: JaegerSpan['tags'] = []): JaegerSpan {
  return {
    traceID: T, spanID: id, operationName: op, startTime: start, duration: dur, tags, logs: [],
    references: parent ? [{ refType: 'CHILD_OF', traceID: T, spanID: parent }] : [], processID: service,
  };
}
function trace(spans: JaegerSpan[]): JaegerTrace {
  const processes: JaegerTrace['processes'] = {};
  for (const s of spans) processes[s.processID] = { serviceName: s.processID, tags: [] };
  return { traceID: T, spans, processes };
}

describe('buildTrace', () => {
  it('builds the tree depth-first with children ordered by start, whatever the input order', () => {
    const t = buildTrace(trace([sp('c2', 'root', 50, 10), sp('g1', 'c1', 15, 5), sp('root', null, 0, 100), sp('c1', 'root', 10, 20)]));
    expect(t.spans.map((s) => s.spanID)).toEqual(['root', 'c1', 'g1', 'c2']);
    expect(t.spans.map((s) => s.depth)).toEqual([0, 1, 2, 1]);
    expect(t.roots.map((s) => s.spanID)).toEqual(['root']);
    expect(t.byId.get('g1')!.parent!.spanID).toBe('c1');
  });

  it('computes depth as the number of levels', () => {
    expect(buildTrace(trace([sp('r', null, 0, 10)])).depth).toBe(1);
    expect(buildTrace(trace([sp('r', null, 0, 10), sp('a', 'r', 1, 5), sp('b', 'a', 2, 2), sp('c', 'r', 6, 2)])).depth).toBe(3);
  });

  it('turns spans with a missing parent into roots and survives reference cycles', () => {
    const t = buildTrace(trace([sp('r', null, 0, 10), sp('orphan', 'missing', 5, 1), sp('x', 'y', 1, 1), sp('y', 'x', 2, 1)]));
    expect(t.spans).toHaveLength(4);
    expect(t.roots.map((s) => s.spanID)).toContain('orphan');
    expect(new Set(t.spans.map((s) => s.spanID)).size).toBe(4);
  });

  it('counts services, errors and the trace duration', () => {
    const t = buildTrace(trace([
      sp('r', null, 1000, 100, 'client-gateway'),
      sp('a', 'r', 1010, 50, 'order-manager', 'create_order', [{ key: 'error', type: 'bool', value: true }]),
      sp('b', 'a', 1020, 100, 'wallet-service', 'block_funds', [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }]),
    ]));
    expect(t.services).toEqual(['client-gateway', 'order-manager', 'wallet-service']);
    expect(t.errorCount).toBe(2);
    expect(t.start).toBe(1000);
    expect(t.duration).toBe(120); // the child outlives its parent
  });
});

describe('spanIsError', () => {
  it('reads the error tag (bool or string) and the OTel status', () => {
    expect(spanIsError([{ key: 'error', type: 'bool', value: true }])).toBe(true);
    expect(spanIsError([{ key: 'error', type: 'string', value: 'true' }])).toBe(true);
    expect(spanIsError([{ key: 'error', type: 'bool', value: false }])).toBe(false);
    expect(spanIsError([{ key: 'otel.status_code', type: 'string', value: 'ERROR' }])).toBe(true);
    expect(spanIsError([{ key: 'otel.status_code', type: 'string', value: 'OK' }])).toBe(false);
    expect(spanIsError(null)).toBe(false);
  });
});

describe('selfTime', () => {
  it('subtracts the union of children, clipped to the parent', () => {
    const t = buildTrace(trace([
      sp('r', null, 0, 100),
      sp('a', 'r', 10, 30), // 10..40
      sp('b', 'r', 30, 20), // 30..50 overlaps a
      sp('c', 'r', 90, 30), // 90..120 clipped to 90..100
    ]));
    expect(t.byId.get('r')!.selfTime).toBe(100 - 40 - 10);
    expect(t.byId.get('a')!.selfTime).toBe(30);
  });
  it('is zero when children cover the span and never negative', () => {
    expect(selfTime({ start: 0, end: 10, children: [{ start: -5, end: 20 }] })).toBe(0);
  });
});

describe('criticalPath', () => {
  it('follows the last-finishing child back in time, the parent owns the gaps', () => {
    // r 0..100; a 10..40; b 20..70 (finishes last, overlaps a); c 75..80 (async tail inside r)
    const t = buildTrace(trace([sp('r', null, 0, 100), sp('a', 'r', 10, 30), sp('b', 'r', 20, 50), sp('b1', 'b', 30, 10), sp('c', 'r', 75, 5)]));
    const segs = criticalPath(t).map((s) => [s.spanID, s.start, s.end]);
    expect(segs).toEqual([
      ['r', 0, 20], ['b', 20, 30], ['b1', 30, 40], ['b', 40, 70], ['r', 70, 75], ['c', 75, 80], ['r', 80, 100],
    ]);
    // a is overlapped by b, which finishes later: not on the path.
    expect(segs.some(([id]) => id === 'a')).toBe(false);
    const total = criticalPath(t).reduce((n, s) => n + s.end - s.start, 0);
    expect(total).toBe(100);
  });

  it('clips children that outlive their parent', () => {
    const t = buildTrace(trace([sp('r', null, 0, 50), sp('x', 'r', 40, 30)]));
    expect(criticalPath(t).map((s) => [s.spanID, s.start, s.end])).toEqual([['r', 0, 40], ['x', 40, 50]]);
  });

  it('is empty for an empty trace', () => {
    expect(criticalPath(buildTrace(trace([])))).toEqual([]);
  });
});

describe('statistics', () => {
  it('groups by service and operation with self time', () => {
    const t = buildTrace(trace([
      sp('r', null, 0, 100, 'gw', 'POST /v1/order'),
      sp('a', 'r', 10, 20, 'db', 'UPDATE wallets'),
      sp('b', 'r', 50, 30, 'db', 'UPDATE wallets', [{ key: 'error', type: 'bool', value: true }]),
    ]));
    const ops = statsByOperation(t);
    const upd = ops.find((o) => o.operation === 'UPDATE wallets')!;
    expect(upd).toMatchObject({ service: 'db', count: 2, total: 50, self: 50, min: 20, max: 30, errors: 1 });
    const gw = ops.find((o) => o.operation === 'POST /v1/order')!;
    expect(gw.self).toBe(50);
    const svc = statsByService(t);
    expect(svc.map((s) => [s.service, s.spans, s.self])).toEqual([['gw', 1, 50], ['db', 2, 50]]);
  });
});

describe('summarize', () => {
  it('finds the root, counts spans, errors and spans per service', () => {
    const s = summarize(trace([
      sp('a', 'r', 10, 20, 'order-manager', 'create_order', [{ key: 'error', type: 'bool', value: true }]),
      sp('r', null, 5, 100, 'client-gateway', 'POST /v1/order'),
    ]));
    expect(s).toMatchObject({ rootService: 'client-gateway', rootOperation: 'POST /v1/order', start: 5, duration: 100, spanCount: 2, errorCount: 1 });
    expect(s.services).toEqual([{ name: 'client-gateway', count: 1, errors: 0 }, { name: 'order-manager', count: 1, errors: 1 }]);
  });
});

describe('spanMatches', () => {
  const t = buildTrace(trace([
    sp('r', null, 0, 10, 'client-gateway', 'POST /v1/order', [{ key: 'http.response.status_code', type: 'int64', value: 422 }]),
    sp('u', 'r', 1, 5, 'wallet-service', 'UPDATE wallets', [{ key: 'db.system.name', type: 'string', value: 'postgresql' }]),
  ]));
  const find = (q: string) => t.spans.filter((s) => spanMatches(s, q)).map((s) => s.spanID);
  it('finds by service, operation, span ID and key=value, case-insensitively, every word', () => {
    expect(find('update WALLETS')).toEqual(['u']);
    expect(find('wallet')).toEqual(['u']);
    expect(find('status_code=422')).toEqual(['r']);
    expect(find('db.system.name=postgresql wallet-service')).toEqual(['u']);
    expect(find('postgresql gateway')).toEqual([]);
    expect(find('r')).toEqual(['r', 'u']);
  });
  it('an empty query matches nothing', () => {
    expect(find('   ')).toEqual([]);
  });
});
