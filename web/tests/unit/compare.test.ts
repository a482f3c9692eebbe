import { describe, expect, it } from 'vitest';
import { compareTraces } from '../../src/compare';
import { buildTrace } from '../../src/model';
import type { JaegerSpan, JaegerTrace } from '../../src/types';

const T = 'b'.repeat(32);
function sp(id: string, parent: string | null, start: number, dur: number, service: string, op: string, error = false): JaegerSpan {
  return {
    traceID: T, spanID: id, operationName: op, startTime: start, duration: dur,
    tags: error ? [{ key: 'error', type: 'bool', value: true }] : [], logs: [],
    references: parent ? [{ refType: 'CHILD_OF', traceID: T, spanID: parent }] : [], processID: service,
  };
}
function trace(spans: JaegerSpan[]): JaegerTrace {
  const processes: JaegerTrace['processes'] = {};
  for (const s of spans) processes[s.processID] = { serviceName: s.processID, tags: [] };
  return { traceID: T, spans, processes };
}
const row = (r: ReturnType<typeof compareTraces>[number]) =>
  `${'  '.repeat(r.depth)}${r.service}: ${r.operation} ${r.a?.count ?? '-'}/${r.b?.count ?? '-'} ${r.status}`;

describe('compareTraces', () => {
  // A filled order (two settlements) against a rejected one (its block failed, nothing matched).
  const filled = buildTrace(trace([
    sp('r', null, 1000, 100, 'gw', 'POST /v1/order'),
    sp('b', 'r', 1010, 10, 'wallet', 'block_funds'),
    sp('m', 'r', 1030, 20, 'om', 'match_order'),
    sp('s1', 'r', 1060, 10, 'wallet', 'settle_trade'),
    sp('s2', 'r', 1075, 12, 'wallet', 'settle_trade'),
  ]));
  const rejected = buildTrace(trace([
    sp('r', null, 5000, 40, 'gw', 'POST /v1/order', true),
    sp('b', 'r', 5010, 10, 'wallet', 'block_funds', true),
    sp('x', 'b', 5012, 3, 'postgresql', 'UPDATE wallets'),
  ]));

  it('merges spans by their path from the root and counts each path in A and B', () => {
    expect(compareTraces(filled, rejected).map(row)).toEqual([
      'gw: POST /v1/order 1/1 changed', // same count, but an error in B
      '  wallet: block_funds 1/1 changed',
      '    postgresql: UPDATE wallets -/1 only-b',
      '  om: match_order 1/- only-a',
      '  wallet: settle_trade 2/- only-a',
    ]);
  });

  it('sums durations per path and marks a trace against itself the same throughout', () => {
    const rows = compareTraces(filled, filled);
    expect(rows.every((r) => r.status === 'same')).toBe(true);
    const settle = rows.find((r) => r.operation === 'settle_trade')!;
    expect(settle.a).toEqual({ count: 2, total: 22, errors: 0 });
    expect(settle.b).toEqual(settle.a);
  });

  it('keeps a path under its own parent: the same operation elsewhere is another row', () => {
    const nested = buildTrace(trace([
      sp('r', null, 0, 50, 'gw', 'POST /v1/order'),
      sp('s', 'r', 10, 20, 'wallet', 'settle_trade'),
      sp('b', 's', 12, 5, 'wallet', 'block_funds'),
    ]));
    const rows = compareTraces(filled, nested).map(row);
    expect(rows).toContain('  wallet: block_funds 1/- only-a');
    expect(rows).toContain('    wallet: block_funds -/1 only-b');
  });

  it('lists a trace deeper than the call stack', () => {
    const spans = [sp('s0', null, 0, 100_000, 'svc', 'op')];
    for (let i = 1; i < 50_000; i++) spans.push(sp(`s${i}`, `s${i - 1}`, i, 100_000 - i, 'svc', 'op'));
    const deep = buildTrace(trace(spans));
    const rows = compareTraces(deep, deep);
    expect(rows).toHaveLength(50_000);
    expect(rows[49_999].depth).toBe(49_999);
  });
});
