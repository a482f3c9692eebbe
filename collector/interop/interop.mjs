// Interoperability: the official OpenTelemetry JS SDK exports traces to flowex-collector over
// OTLP/HTTP protobuf and OTLP/HTTP JSON; the Jaeger v1 and v3 query APIs must return them, and
// tag search (error=true, a custom attribute), duration filters and the service/operation
// lists must find them.  usage: node interop.mjs <path to flowex-collector>
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'node_modules', '@opentelemetry', 'sdk-trace-base'))) {
  // A failure, not a skip: `make test` runs scripts/bootstrap, which installs them.
  console.error('collector/interop: node_modules missing (run scripts/bootstrap, or `npm ci` in collector/interop)');
  process.exit(1);
}
const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const { Resource } = await import('@opentelemetry/resources');
const { SpanKind, SpanStatusCode } = await import('@opentelemetry/api');
const { OTLPTraceExporter: ProtoExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: JsonExporter } = await import('@opentelemetry/exporter-trace-otlp-http');

const binary = process.argv[2];
assert.ok(binary, 'usage: node interop.mjs <flowex-collector>');
const dataDir = mkdtempSync(join(tmpdir(), 'flowex-interop-'));
const child = spawn(binary, ['--otlp-http-addr', '127.0.0.1:0', '--query-addr', '127.0.0.1:0', '--data-dir', dataDir],
  { stdio: ['ignore', 'pipe', 'inherit'] });

const ports = await new Promise((resolve, reject) => {
  let out = '';
  const found = [];
  const timer = setTimeout(() => reject(new Error(`collector did not start: ${out}`)), 20000);
  child.stdout.on('data', (d) => {
    out += d;
    for (const m of out.matchAll(/listening on [^\s]+:(\d+)/g)) if (!found.includes(m[1])) found.push(m[1]);
    if (found.length >= 2) { clearTimeout(timer); resolve({ otlp: found[0], query: found[1] }); }
  });
  child.on('exit', (code) => reject(new Error(`collector exited with ${code}`)));
});
const query = `http://127.0.0.1:${ports.query}`;

async function get(path) {
  const r = await fetch(query + path);
  const body = await r.json();
  return { status: r.status, body };
}

let failures = 0;
async function check(name, fn) {
  try { await fn(); console.log(`ok   ${name}`); } catch (e) { failures++; console.log(`FAIL ${name}: ${e.message}`); }
}

async function exportTrace(protocol) {
  const service = `interop-${protocol}`;
  const url = `http://127.0.0.1:${ports.otlp}/v1/traces`;
  const exporter = protocol === 'proto' ? new ProtoExporter({ url }) : new JsonExporter({ url });
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': service, 'deployment.environment': 'test' }) });
  provider.addSpanProcessor(new SimpleSpanProcessor(exporter));
  const tracer = provider.getTracer('flowex-interop', '1.0.0');
  const t0 = Date.now() - 5000;
  const root = tracer.startSpan('GET /interop', { kind: SpanKind.SERVER, startTime: t0, attributes: { 'http.request.method': 'GET' } });
  const ctx = (await import('@opentelemetry/api')).trace.setSpan((await import('@opentelemetry/api')).context.active(), root);
  const childSpan = tracer.startSpan('SELECT orders', {
    kind: SpanKind.CLIENT, startTime: t0 + 50,
    attributes: { 'custom.attr': `hello-${protocol}`, 'db.system.name': 'postgresql', 'service.peer.name': 'postgresql', 'user_id': 42 },
  }, ctx);
  childSpan.addEvent('exception', { 'exception.message': 'boom' }, t0 + 60);
  childSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'query failed' });
  childSpan.end(t0 + 170);
  root.end(t0 + 250);
  await provider.forceFlush();
  await provider.shutdown();
  return { service, traceId: root.spanContext().traceId, childId: childSpan.spanContext().spanId };
}

for (const protocol of ['proto', 'json']) {
  const { service, traceId, childId } = await exportTrace(protocol);
  await check(`${protocol}: /api/services lists the service`, async () => {
    const { body } = await get('/api/services');
    assert.ok(body.data.includes(service), JSON.stringify(body));
  });
  await check(`${protocol}: operations (v1 list, v1 with spanKind, v3)`, async () => {
    let { body } = await get(`/api/services/${service}/operations`);
    assert.deepEqual([...body.data].sort(), ['GET /interop', 'SELECT orders']);
    ({ body } = await get(`/api/operations?service=${service}&spanKind=server`));
    assert.deepEqual(body.data, [{ name: 'GET /interop', spanKind: 'server' }]);
    ({ body } = await get(`/api/v3/operations?service=${service}`));
    assert.equal(body.operations.length, 2);
  });
  await check(`${protocol}: v1 trace by id in Jaeger's shape`, async () => {
    const { status, body } = await get(`/api/traces/${traceId}`);
    assert.equal(status, 200);
    const t = body.data[0];
    assert.equal(t.traceID, traceId);
    assert.equal(t.spans.length, 2);
    const child = t.spans.find((s) => s.spanID === childId);
    const tag = (k) => child.tags.find((x) => x.key === k)?.value;
    assert.equal(child.operationName, 'SELECT orders');
    assert.equal(child.references[0].refType, 'CHILD_OF');
    assert.equal(tag('span.kind'), 'client');
    assert.equal(tag('error'), true);
    assert.equal(tag('otel.status_code'), 'ERROR');
    assert.equal(tag('otel.status_description'), 'query failed');
    assert.equal(tag('custom.attr'), `hello-${protocol}`);
    assert.equal(tag('user_id'), 42);
    assert.equal(child.duration, 120000);
    assert.equal(child.logs[0].fields.find((f) => f.key === 'event').value, 'exception');
    assert.equal(t.processes[child.processID].serviceName, service);
  });
  await check(`${protocol}: v3 trace by id as OTLP JSON`, async () => {
    const { status, body } = await get(`/api/v3/traces/${traceId}`);
    assert.equal(status, 200);
    const spans = body.result.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    assert.equal(spans.length, 2);
    assert.ok(spans.every((s) => s.traceId === traceId));
    const attrs = body.result.resourceSpans[0].resource.attributes;
    assert.ok(attrs.some((a) => a.key === 'service.name' && a.value.stringValue === service));
  });
  const found = async (qs) => (await get(`/api/traces?service=${service}&${qs}`)).body.data.map((t) => t.traceID);
  await check(`${protocol}: search by error=true and by a custom attribute`, async () => {
    assert.deepEqual(await found(`tags=${encodeURIComponent('{"error":"true"}')}`), [traceId]);
    assert.deepEqual(await found(`tags=${encodeURIComponent(`{"custom.attr":"hello-${protocol}"}`)}`), [traceId]);
    assert.deepEqual(await found(`tag=custom.attr:hello-${protocol}`), [traceId]);
    assert.deepEqual(await found(`tags=${encodeURIComponent('{"custom.attr":"nope"}')}`), []);
  });
  await check(`${protocol}: duration filters`, async () => {
    assert.deepEqual(await found('minDuration=200ms'), [traceId]);
    assert.deepEqual(await found('minDuration=300ms'), []);
    assert.deepEqual(await found(`operation=${encodeURIComponent('SELECT orders')}&minDuration=100ms&maxDuration=130ms`), [traceId]);
    assert.deepEqual(await found(`operation=${encodeURIComponent('SELECT orders')}&maxDuration=100ms`), []);
  });
  await check(`${protocol}: v3 search`, async () => {
    const { body } = await get(`/api/v3/traces?query.service_name=${service}&query.duration_min=200ms`);
    assert.ok(body.result.resourceSpans.length >= 1);
  });
}

child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(dataDir, { recursive: true, force: true });
console.log(failures === 0 ? 'interop: all checks passed' : `interop: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
