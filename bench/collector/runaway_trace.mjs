// What a runaway trace costs the collector to read: starts BINARY (flowex-collector) on free
// 127.0.0.1 ports with a fresh data directory, sends one trace of CALLS × PER spans (a loop
// under one root, each span with two attributes) and a log record per span over OTLP/JSON,
// then measures, in this order, the collector's peak resident memory (VmHWM) growing with each:
//   1. a search on a tag the index does not hold, matching the last span sent
//   2. GET /api/traces/{id}                 the default read (at most --max-trace-spans spans)
//   3. GET /api/traces/{id}/logs            the default read (at most --max-trace-logs records)
//   4. GET /api/traces/{id}?maxSpans=0      every span
//   5. GET /api/traces/{id}/logs?maxLogs=0  every log record
// and prints each one's time, response size and the peak after it (READS=3,5 makes only those
// reads: peaks are cumulative). Extra arguments go to the collector. Stops the collector and
// removes its data directory.
//
//   node bench/collector/runaway_trace.mjs build/bin/flowex-collector [CALLS=200] [PER=1000] [collector flags…]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [binary, callsArg, perArg, ...collectorFlags] = process.argv.slice(2);
if (!binary || !fs.existsSync(binary)) {
  console.error('usage: node bench/collector/runaway_trace.mjs <flowex-collector> [CALLS] [PER]');
  process.exit(2);
}
const CALLS = Number(callsArg || 200);
const PER = Number(perArg || 1000);
const TRACE = 'ab'.repeat(16);
const ROOT = '00000000000000aa';
const T0 = 1_764_650_000_000_000_000n;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowex-runaway-'));
const child = spawn(binary, ['--otlp-http-addr', '127.0.0.1:0', '--query-addr', '127.0.0.1:0', '--data-dir', dir, ...collectorFlags],
  { stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (d) => { output += d; });
child.stderr.on('data', (d) => { output += d; });
const stop = () => { try { child.kill('SIGTERM'); } catch { /* gone */ } };
process.on('exit', () => { stop(); fs.rmSync(dir, { recursive: true, force: true }); });

const peakKb = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]);

async function main() {
  let addrs = [];
  for (let i = 0; i < 200 && addrs.length < 2; ++i) {
    addrs = [...output.matchAll(/listening on ([\d.]+:\d+)/g)].map((m) => `http://${m[1]}`);
    if (addrs.length < 2) await new Promise((r) => setTimeout(r, 50));
  }
  if (addrs.length < 2) throw new Error(`the collector did not start:\n${output}`);
  const [otlp, query] = addrs;

  const started = Date.now();
  for (let c = 0; c < CALLS; ++c) {
    const spans = [];
    for (let i = 0; i < PER; ++i) {
      const n = c * PER + i;
      spans.push({
        traceId: TRACE, spanId: (0x1000 + n).toString(16).padStart(16, '0'), parentSpanId: ROOT,
        name: 'loop', kind: 1,
        startTimeUnixNano: String(T0 + BigInt(n) * 1000n), endTimeUnixNano: String(T0 + BigInt(n) * 1000n + 500n),
        attributes: [{ key: 'i', value: { intValue: String(n) } }, { key: 'note', value: { stringValue: 'x'.repeat(100) } }],
      });
    }
    if (c === CALLS - 1) {
      spans.push({ traceId: TRACE, spanId: ROOT, name: 'GET /runaway', kind: 2,
        startTimeUnixNano: String(T0), endTimeUnixNano: String(T0 + BigInt(CALLS * PER) * 1000n) });
    }
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'runaway' } }] };
    const body = JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'bench' }, spans }] }] });
    const r = await fetch(`${otlp}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    if (r.status !== 200) throw new Error(`export ${c}: HTTP ${r.status} ${await r.text()}`);
    const logRecords = spans.filter((sp) => sp.spanId !== ROOT).map((sp) => ({
      timeUnixNano: sp.startTimeUnixNano, severityNumber: 9, severityText: 'INFO', traceId: TRACE, spanId: sp.spanId,
      body: { stringValue: `loop iteration ${sp.attributes[0].value.intValue}` },
      attributes: [{ key: 'note', value: { stringValue: 'x'.repeat(100) } }],
    }));
    const logs = JSON.stringify({ resourceLogs: [{ resource, scopeLogs: [{ scope: { name: 'bench' }, logRecords }] }] });
    const l = await fetch(`${otlp}/v1/logs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: logs });
    if (l.status !== 200) throw new Error(`log export ${c}: HTTP ${l.status} ${await l.text()}`);
  }
  console.log(`sent one trace of ${CALLS * PER + 1} spans and ${CALLS * PER} log records in ${CALLS} calls each (${((Date.now() - started) / 1000).toFixed(1)} s); collector peak ${(peakKb() / 1024).toFixed(0)} MB`);

  const last = CALLS * PER - 1;
  const start = Number(T0 / 1000n) - 1_000_000;
  const cases = [
    [`search: tag i=${last} (not indexed)`, `/api/trace-summaries?service=runaway&tags=${encodeURIComponent(JSON.stringify({ i: String(last) }))}&start=${start}&end=${start + 10_000_000_000}`],
    ['GET /api/traces/{id}', `/api/traces/${TRACE}`],
    ['GET /api/traces/{id}/logs', `/api/traces/${TRACE}/logs`],
    ['GET /api/traces/{id}?maxSpans=0', `/api/traces/${TRACE}?maxSpans=0`],
    ['GET /api/traces/{id}/logs?maxLogs=0', `/api/traces/${TRACE}/logs?maxLogs=0`],
  ];
  const reads = process.env.READS ? process.env.READS.split(',').map(Number) : cases.map((_, i) => i + 1);
  console.log('| request | time | response | left out | collector peak after |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, target] of cases.filter((_, i) => reads.includes(i + 1))) {
    const t = performance.now();
    const r = await fetch(`${query}${target}`);
    const text = await r.text();
    const ms = performance.now() - t;
    if (r.status !== 200) throw new Error(`${name}: HTTP ${r.status} ${text.slice(0, 200)}`);
    if (!text.includes(TRACE)) throw new Error(`${name}: the trace is not in the answer: ${text.slice(0, 200)}`);
    const omitted = r.headers.get('x-flowex-spans-omitted') ?? r.headers.get('x-flowex-logs-omitted') ?? '0';
    console.log(`| ${name} | ${(ms / 1000).toFixed(2)} s | ${(text.length / 1e6).toFixed(1)} MB | ${omitted} | ${(peakKb() / 1024).toFixed(0)} MB |`);
  }
}

main().then(() => { stop(); }, (e) => { console.error(`✗ ${e.message}`); stop(); process.exitCode = 1; });
