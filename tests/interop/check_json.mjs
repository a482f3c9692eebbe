// Checks flowex's OTLP/JSON export against the OTLP JSON rules and, field by field, against
// what the C++ SDK recorded in-process; and checks that every field name we write is one the
// official JS serializer (@opentelemetry/otlp-transformer 0.52.1 JsonTraceSerializer) writes.
// Usage: node check_json.mjs <dir with traces.json, expected.json>
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compare, flatten, readExpected } from './common.mjs';

const require = createRequire(import.meta.url);
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } =
  require('@opentelemetry/sdk-trace-base');
const api = require('@opentelemetry/api');

const dir = process.argv[2];
const text = readFileSync(`${dir}/traces.json`, 'utf8');
const doc = JSON.parse(text);

// --- OTLP/JSON rules -------------------------------------------------------------------------
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const U64 = /^[0-9]+$/;
const I64 = /^-?[0-9]+$/;
const paths = new Set();
function walk(node, path) {
  if (Array.isArray(node)) { node.forEach((x) => walk(x, `${path}[]`)); return; }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    assert.match(k, /^[a-z][a-zA-Z0-9]*$/, `field names are lowerCamelCase: ${path}.${k}`);
    const p = `${path}.${k}`;
    paths.add(p);
    if (k === 'traceId') assert.match(v, HEX32, `${p} is 32 lowercase hex chars`);
    if (k === 'spanId' || k === 'parentSpanId') assert.match(v, HEX16, `${p} is 16 hex chars`);
    if (k.endsWith('UnixNano')) assert.match(v, U64, `${p} is a decimal string`);
    if (k === 'intValue') assert.match(v, I64, `${p} is a decimal string`);
    if (k === 'kind' || k === 'code') assert.ok(Number.isInteger(v), `${p} is an integer enum`);
    walk(v, p);
  }
}
walk(doc, '');

const which = (v) => Object.keys(v)[0];
compare(flatten(doc.resourceSpans, (h) => h, which), readExpected(dir), 'json');

// --- names match the official serializer -----------------------------------------------------
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider();
provider.addSpanProcessor(new SimpleSpanProcessor(exporter));
const tracer = provider.getTracer('interop', '1.0.0');
const parent = api.trace.setSpanContext(api.context.active(), {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7',
  traceFlags: 1, isRemote: true, traceState: undefined,
});
const span = tracer.startSpan('op', {
  kind: api.SpanKind.SERVER,
  attributes: { s: 'x', i: 1, d: 1.5, b: true, a: ['p', 'q'] },
  links: [{ context: { traceId: 'aabb0000000000000000000000000000', spanId: 'cc00000000000000',
    traceFlags: 1 }, attributes: { l: 'v' } }],
}, parent);
span.addEvent('e', { k: 'v' });
span.setStatus({ code: api.SpanStatusCode.ERROR, message: 'm' });
span.end();
const official = JSON.parse(Buffer.from(
  JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())).toString('utf8'));
const officialPaths = new Set();
(function collect(node, path) {
  if (Array.isArray(node)) { node.forEach((x) => collect(x, `${path}[]`)); return; }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) { officialPaths.add(`${path}.${k}`); collect(v, `${path}.${k}`); }
})(official, '');
// Attribute lists look the same wherever they appear (resource, span, event, link) and array
// elements are AnyValues again: compare those shapes once.
const shape = (p) => p.replace(/^.*\.attributes\[\]/, '<KeyValue>')
  .replace(/\.value(\.arrayValue\.values\[\])+/, '.value');
const officialShapes = new Set([...officialPaths].map(shape));
// `flags` (Span/Link field 16/6) postdates the proto snapshot inside 0.52.1.
const extra = [...new Set([...paths].map(shape))]
  .filter((p) => !officialShapes.has(p) && !/\.flags$/.test(p));
assert.deepStrictEqual(extra, [], `field names the official serializer never writes: ${extra}`);
console.log(`json: OTLP JSON rules hold; ${paths.size} field paths, all known to the official ` +
  'JsonTraceSerializer');
