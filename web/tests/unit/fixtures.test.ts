// The fixtures are what the browser tests (and a later real-collector test) rely on: check
// they are the brief's flows, and that Jaeger and OTLP renderings agree with the model.
import { describe, expect, it } from 'vitest';
import { makeFlows } from '../fixtures/flows.mjs';
import { JaegerEmulator, toJaegerTrace } from '../fixtures/jaeger.mjs';
import { toOtlpLogs, toOtlpTraces } from '../fixtures/otlp.mjs';
import { buildTrace, criticalPath } from '../../src/model';
import type { JaegerTrace } from '../../src/types';

const model = makeFlows(Date.UTC(2026, 10, 29, 15, 0, 0));
const order = model.traces.find((t) => t.traceId === model.special.orderTraceId)!;

describe('fixture flows', () => {
  it('the order trace has the brief\'s services and span names, and builds into one tree', () => {
    const t = buildTrace(toJaegerTrace(order, model.resources) as JaegerTrace);
    expect(t.roots).toHaveLength(1);
    expect(t.services).toEqual(['client-gateway', 'order-manager', 'risk-manager', 'user-service', 'wallet-service']);
    const names = new Set(t.spans.map((s) => s.operationName));
    for (const n of ['POST /v1/order', 'place_order', 'GET /me', 'verify_token', 'POST /order', 'create_order', 'POST /validate',
      'validate_order', 'POST /block-funds', 'block_funds', 'UPDATE wallets', 'INSERT orders', 'match_order', 'publish_event']) {
      expect(names.has(n), n).toBe(true);
    }
    // every child lies within its parent, so the critical path covers the whole trace
    const cp = criticalPath(t);
    expect(cp.reduce((a, s) => a + s.end - s.start, 0)).toBe(t.duration);
    expect(t.errorCount).toBe(0);
  });

  it('the rejected order carries ERROR spans and is found by error=true', () => {
    const j = new JaegerEmulator(model);
    const q = new URLSearchParams({ service: 'client-gateway', tags: '{"error":"true"}', limit: '20' });
    const r = j.search(q);
    const body = JSON.parse(r.raw as string);
    expect(body.data.map((t: JaegerTrace) => t.traceID)).toEqual([model.special.rejectedTraceId]);
    const t = buildTrace(body.data[0]);
    expect(t.spans.filter((s) => s.isError).map((s) => s.operationName).sort()).toEqual(['POST', 'POST', 'block_funds', 'create_order', 'place_order']);
  });

  it('dependencies include the brief\'s chain and the database/redis nodes', () => {
    const deps = new JaegerEmulator(model).dependencies(Date.UTC(2026, 10, 29, 15, 0, 0), 3600_000);
    const edges = new Set(deps.map((d: { parent: string; child: string }) => `${d.parent}>${d.child}`));
    for (const e of ['client-gateway>order-manager', 'order-manager>wallet-service', 'wallet-service>postgresql', 'order-manager>redis', 'client-gateway>user-service']) {
      expect(edges.has(e), e).toBe(true);
    }
  });

  it('converts to OTLP/JSON with the same spans, ids and statuses', () => {
    const req = toOtlpTraces(model);
    const spans = req.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans));
    expect(spans).toHaveLength(model.traces.reduce((n, t) => n + t.spans.length, 0));
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
    }
    const bf = spans.find((s: any) => s.name === 'block_funds' && s.status.code === 2);
    expect(bf.attributes).toContainEqual({ key: 'error.type', value: { stringValue: 'insufficient_funds' } });
    const po = spans.find((s: any) => s.traceId === order.traceId && s.name === 'place_order');
    expect(po.kind).toBe(1);
    expect(po.attributes).toContainEqual({ key: 'quantity', value: { intValue: '10' } });
    const svc = req.resourceSpans.map((rs: any) => rs.resource.attributes.find((a: any) => a.key === 'service.name').value.stringValue);
    expect(new Set(svc).size).toBe(svc.length);
    const logs = toOtlpLogs(model).resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords));
    expect(logs).toHaveLength(model.logs.length);
    expect(logs.some((l: any) => l.body.stringValue === 'Blocking $1500.00 for user 11' && l.traceId === order.traceId)).toBe(true);
  });
});
