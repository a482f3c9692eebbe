// Generated fixtures for the trace viewer benchmark.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const { idGen, flatten, orderFlow } = await import(path.join(here, '../../web/tests/fixtures/flows.mjs'));

/** One trace of `n` spans: a gateway request fanning out through the services, ~8 tags each. */
export function bigTrace(n, nowMs) {
  const ids = idGen(4242);
  const traceId = ids.traceId();
  const svcs = ['client-gateway', 'user-service', 'order-manager', 'risk-manager', 'wallet-service', 'reporting-service'];
  const names = ['POST /order', 'create_order', 'validate_order', 'block_funds', 'UPDATE wallets', 'INSERT orders', 'match_order', 'publish_event', 'settle_trade', 'SELECT holdings'];
  const t0 = (nowMs - 60_000) * 1000;
  const total = 4_000_000; // 4 s
  const spans = [{ traceId, spanId: ids.spanId(), parentSpanId: '', service: 'client-gateway', name: 'POST /v1/batch', kind: 'SERVER', startUs: t0, durationUs: total, attributes: { 'http.request.method': 'POST', 'http.route': '/v1/batch', 'http.response.status_code': 200 }, status: { code: 'UNSET' }, events: [] }];
  const logs = [];
  let rnd = 12345;
  const rand = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  while (spans.length < n) {
    // pick a parent among the recent spans (gives depth ~10-20 and wide fan-out)
    const parent = spans[Math.max(0, spans.length - 1 - Math.floor(rand() * Math.min(spans.length, 40)))];
    const off = Math.floor(rand() * parent.durationUs * 0.7);
    const dur = Math.max(20, Math.floor((parent.durationUs - off) * (0.2 + rand() * 0.7)));
    const i = spans.length;
    const sp = {
      traceId, spanId: ids.spanId(), parentSpanId: parent.spanId, service: svcs[i % svcs.length], name: names[i % names.length],
      kind: i % 3 === 0 ? 'CLIENT' : 'INTERNAL', startUs: parent.startUs + off, durationUs: dur,
      attributes: { user_id: 11 + (i % 50), order_id: `ord-${i}`, symbol: 'AAPL', side: i % 2 ? 'BUY' : 'SELL', quantity: 1 + (i % 100), price: 150.25, 'db.system.name': i % 3 === 0 ? 'postgresql' : 'none', seq: i },
      status: { code: i % 97 === 0 ? 'ERROR' : 'UNSET' }, events: i % 50 === 0 ? [{ name: 'exception', timeUs: parent.startUs + off + 1, attributes: { 'exception.type': 'timeout' } }] : [],
    };
    spans.push(sp);
    if (i % 10 === 0) logs.push({ traceId, spanId: sp.spanId, service: sp.service, timeUs: sp.startUs + 5, severity: 'INFO', body: `step ${i} for user ${sp.attributes.user_id}`, attributes: { seq: i } });
  }
  return { trace: { traceId, spans }, logs };
}

export function manyTraces(count, nowMs) {
  const ids = idGen(777);
  const traces = [];
  for (let i = 0; i < count; i++) {
    const r = flatten(orderFlow({ userId: 11 + (i % 40), quantity: 1 + (i % 20), scale: 0.5 + (i % 17) / 10, reject: i % 53 === 0 }), (nowMs - 50 * 60_000 + i * 2_900) * 1000, ids);
    traces.push(r.trace);
  }
  return traces;
}

