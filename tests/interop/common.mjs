// Shared helpers for the interop checks: normalise OTLP spans (decoded protobuf or OTLP/JSON)
// into the shape the C++ side writes to expected.json, and compare field by field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export function readExpected(dir) {
  return JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8'));
}

// AnyValue → {type, value}; `which` names the set oneof member.
export function normalizeAny(v, which) {
  const w = which(v);
  switch (w) {
    case 'stringValue': return { type: 'string', value: v.stringValue };
    case 'boolValue': return { type: 'bool', value: v.boolValue };
    case 'intValue': return { type: 'int', value: String(v.intValue) };
    case 'doubleValue': return { type: 'double', value: Number(v.doubleValue) };
    case 'arrayValue':
      return { type: 'array', value: (v.arrayValue.values ?? []).map((x) => normalizeAny(x, which)) };
    default: throw new Error(`unexpected AnyValue ${JSON.stringify(v)}`);
  }
}

export function normalizeAttrs(list, which) {
  const out = {};
  for (const kv of list ?? []) {
    assert.ok(!(kv.key in out), `duplicate attribute ${kv.key}`);
    out[kv.key] = normalizeAny(kv.value, which);
  }
  return out;
}

export function normalizeSpan(s, hex, which, scope, serviceName) {
  return {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    parentSpanId: s.parentSpanId ? hex(s.parentSpanId) : '',
    traceState: s.traceState ?? '',
    name: s.name,
    kind: Number(s.kind),
    startTimeUnixNano: String(s.startTimeUnixNano),
    endTimeUnixNano: String(s.endTimeUnixNano),
    attributes: normalizeAttrs(s.attributes, which),
    events: (s.events ?? []).map((e) => ({
      name: e.name,
      timeUnixNano: String(e.timeUnixNano),
      attributes: normalizeAttrs(e.attributes, which),
    })),
    links: (s.links ?? []).map((l) => ({
      traceId: hex(l.traceId),
      spanId: hex(l.spanId),
      attributes: normalizeAttrs(l.attributes, which),
    })),
    status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? '' },
    scope,
    serviceName,
  };
}

export function flatten(resourceSpans, hex, which) {
  const out = [];
  for (const rs of resourceSpans ?? []) {
    const resource = normalizeAttrs(rs.resource?.attributes, which);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push(normalizeSpan(s, hex, which, ss.scope?.name ?? '', resource['service.name']?.value));
      }
    }
  }
  return out;
}

export function compare(actual, expected, label) {
  assert.equal(actual.length, expected.length, `${label}: span count`);
  for (let i = 0; i < expected.length; i++) {
    const { flags, ...want } = expected[i];
    assert.deepStrictEqual(actual[i], want, `${label}: span ${i} (${want.name})`);
  }
  console.log(`${label}: ${expected.length} spans match field by field ` +
    '(trace ids, parent ids, names, kinds, times, attributes, events, links, status)');
}
