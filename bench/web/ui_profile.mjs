// Where the trace viewer spends its time: a CPU profile (self time per function) of loading the
// 5,000-span trace and the 1,000-trace search. Build with `npx vite build --minify false` for names.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { startServer } = await import(path.join(root, 'web/tests/browser/server.mjs'));
const { launch } = await import(path.join(root, 'web/tests/browser/harness.mjs'));
const { resources } = await import(path.join(root, 'web/tests/fixtures/flows.mjs'));
const bench = await import(path.join(root, 'bench/web/ui_bench_lib.mjs'));
const now = Date.now();
const big = bench.bigTrace(5000, now);
const many = bench.manyTraces(1000, now);
const server = await startServer({ model: { resources: resources(), traces: [big.trace, ...many], logs: big.logs } });
const b = await launch(); const page = await b.context.newPage();
const cdp = await b.context.newCDPSession(page);
for (const [name, url] of [['trace', `/trace/${big.trace.traceId}`], ['search', '/search?service=client-gateway&lookback=1h&limit=1000']]) {
  await page.goto(server.url + url);
  await page.waitForFunction((n) => performance.getEntriesByName(`${n}-painted`).length > 0, name, { timeout: 60000 });
  await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 200 }); await cdp.send('Profiler.start');
  await page.goto(server.url + url);
  await page.waitForFunction((n) => performance.getEntriesByName(`${n}-painted`).length > 0, name, { timeout: 60000 });
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map(); const dt = profile.timeDeltas; const idIdx = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map(); profile.samples.forEach((s, i) => counts.set(s, (counts.get(s) ?? 0) + (dt[i] ?? 0)));
  for (const [id, us] of counts) { const n = idIdx.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + us); }
  console.log('==', name, await page.evaluate((n) => ['fetched','rendered','painted'].map((m) => Math.round(performance.getEntriesByName(`${n}-${m}`)[0]?.startTime)), name));
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([k, v]) => `${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`).join('\n'));
}
await b.close(); await server.close();
