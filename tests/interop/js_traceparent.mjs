// Starts a span with the official JS SDK (@opentelemetry/sdk-trace-base), injects it with
// @opentelemetry/core's W3CTraceContextPropagator into a request to a flowex server, and prints
// {traceId, spanId, status, traceparent} as JSON (the C++ test checks that our server span
// continues this trace). Usage: node js_traceparent.mjs <url>
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } =
  require('@opentelemetry/sdk-trace-base');

const url = process.argv[2];
const provider = new BasicTracerProvider();
provider.addSpanProcessor(new SimpleSpanProcessor(new InMemorySpanExporter()));
const tracer = provider.getTracer('flowex-interop');
const span = tracer.startSpan('js-client', { kind: api.SpanKind.CLIENT });
const ctx = api.trace.setSpan(api.ROOT_CONTEXT, span);
const headers = { 'content-type': 'application/json' };
new W3CTraceContextPropagator().inject(ctx, headers, api.defaultTextMapSetter);
const res = await fetch(url, { method: 'POST', headers, body: '{}' });
await res.text();
span.end();
const sc = span.spanContext();
console.log(JSON.stringify({ traceId: sc.traceId, spanId: sc.spanId, status: res.status,
  traceparent: headers.traceparent }));
