// The browser tests against the real flowex-collector (ctest web.browser.collector):
//   1. starts the collector binary on free 127.0.0.1 ports (port 0; the ports are read from its
//      "listening on HOST:PORT" lines, OTLP first) with a private temporary --data-dir and
//      --ui-dir web/dist, and polls until both listeners answer;
//   2. sends the brief-shaped flows (tests/fixtures/flows.mjs) over OTLP/HTTP and polls the
//      query API until every trace, its spans and its log records are returned;
//   3. runs every browser test of run.mjs against it (exact counts: the collector holds nothing else);
//   4. stops the collector by its PID and removes the data dir, whatever happened.
// Fails (never skips) when the binary, chromium or web/dist is missing.
//
//   node tests/browser/collector-run.mjs <path to flowex-collector>     (or FLOWEX_COLLECTOR_BIN)
//   FLOWEX_UI_TESTS=map,monitor node tests/browser/collector-run.mjs build/bin/flowex-collector
// Screenshots go to web/test-results/collector/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, closeAll } from './harness.mjs';
import { DEFAULT_DIST } from './server.mjs';
import { runBrowserTests, RESULTS_DIR } from './run.mjs';
import { makeFlows } from '../fixtures/flows.mjs';
import { fillCollector, pollUntil } from '../fixtures/send-otlp.mjs';

const DEADLINE_S = Number(process.env.FLOWEX_UI_DEADLINE_S || 540); // below the ctest TIMEOUT, so cleanup is ours

let child = null;
let exited = null; // { code, signal } once the collector has exited
let dataDir = '';
let output = '';

function fail(msg) {
  console.error(`✗ ${msg}`);
  return 1;
}

function tail(text, n = 40) {
  return text.trimEnd().split('\n').slice(-n).map((l) => `    | ${l}`).join('\n');
}

/** Stops the collector by PID (SIGTERM, then SIGKILL after 10 s); resolves to its exit status. */
async function stopCollector() {
  if (!child) return null;
  if (!exited) {
    try { process.kill(child.pid, 'SIGTERM'); } catch { /* already gone */ }
    const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
    await new Promise((res) => (exited ? res() : child.once('exit', () => res())));
    clearTimeout(t);
  }
  return exited;
}

function removeDataDir() {
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  dataDir = '';
}

// Last resort on an abrupt exit: never leave the collector or its data dir behind.
process.on('exit', () => {
  if (child && !exited) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
  removeDataDir();
});
let stopping = null; // the signal handler's cleanup, which main's own exit waits for
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    stopping ??= (async () => {
      console.error(`\n${sig}: closing the browser, stopping the collector (pid ${child?.pid}) and removing ${dataDir}`);
      await closeAll();
      await stopCollector();
      removeDataDir();
      process.exit(1);
    })();
  });
}

async function startCollector(binary) {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowex-ui-collector-'));
  child = spawn(binary, [
    '--otlp-http-addr', '127.0.0.1:0', '--query-addr', '127.0.0.1:0',
    '--data-dir', dataDir, '--ui-dir', DEFAULT_DIST,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const spawnError = new Promise((_, reject) => child.once('error', (e) => reject(new Error(`cannot start ${binary}: ${e.message}`))));
  let ports = null;
  await Promise.race([spawnError, pollUntil('the collector to print its two "listening on" lines', () => {
    if (exited) throw new Error(`the collector exited (${exited.code ?? exited.signal}) before listening:\n${tail(output)}`);
    const found = [...output.matchAll(/listening on ([\d.]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    if (found.length < 2) return `${found.length} of 2`;
    ports = { otlp: `http://${found[0]}`, query: `http://${found[1]}` };
    return true;
  }, { timeoutMs: 20_000, intervalMs: 50 })]);
  for (const u of [ports.otlp, ports.query]) {
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(u)) throw new Error(`the collector listens on ${u}, not on 127.0.0.1`);
  }
  // readiness: the query server's /health answers 200 and the receiver answers HTTP at all (GET /v1/traces is 405)
  await pollUntil(`${ports.query}/health`, async () => {
    if (exited) throw new Error(`the collector exited (${exited.code ?? exited.signal}):\n${tail(output)}`);
    const r = await fetch(`${ports.query}/health`);
    return r.status === 200 || `HTTP ${r.status}`;
  }, { timeoutMs: 20_000, intervalMs: 50 });
  await pollUntil(`${ports.otlp}/v1/traces`, async () => {
    const r = await fetch(`${ports.otlp}/v1/traces`);
    return r.status === 405 || `HTTP ${r.status} (expected 405 for GET)`;
  }, { timeoutMs: 20_000, intervalMs: 50 });
  return ports;
}

async function main() {
  const binary = process.argv[2] || process.env.FLOWEX_COLLECTOR_BIN || '';
  if (!binary) return fail('usage: node tests/browser/collector-run.mjs <path to flowex-collector> (or FLOWEX_COLLECTOR_BIN)');
  if (!fs.existsSync(binary)) return fail(`flowex-collector not found at ${binary}: build it first (ninja flowex-collector)`);
  try { fs.accessSync(binary, fs.constants.X_OK); } catch { return fail(`${binary} is not executable`); }
  if (!fs.existsSync(CHROMIUM)) return fail(`chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set FLOWEX_CHROMIUM`);
  if (!fs.existsSync(path.join(DEFAULT_DIST, 'index.html'))) return fail(`${path.join(DEFAULT_DIST, 'index.html')} is missing: build the UI first (ninja flowex-web, or npm run build in web/)`);
  const only = (process.env.FLOWEX_UI_TESTS || '').split(',').map((s) => s.trim()).filter(Boolean);
  const watchdog = setTimeout(async () => {
    console.error(`✗ not finished after ${DEADLINE_S} s: stopping the collector (pid ${child?.pid})`);
    await closeAll();
    await stopCollector();
    removeDataDir();
    process.exit(1);
  }, DEADLINE_S * 1000);
  watchdog.unref();

  let rc = 0;
  try {
    const t0 = Date.now();
    const ports = await startCollector(binary);
    console.log(`flowex-collector pid ${child.pid}: OTLP ${ports.otlp}, query ${ports.query}, data ${dataDir} (ready in ${Date.now() - t0} ms)`);
    const sent = makeFlows(Date.now(), (Date.now() % 0xfffffffe) + 1);
    const t1 = Date.now();
    const filled = await fillCollector({ otlp: ports.otlp, query: ports.query, model: sent });
    console.log(`sent ${filled.traces} traces (${filled.spans} spans, services ${filled.services.join(', ')}) and ${filled.logs} log records over OTLP; all queryable after ${Date.now() - t1} ms`);
    const r = await runBrowserTests({ base: ports.query, otlp: ports.otlp, sent, exact: true, results: path.join(RESULTS_DIR, 'collector'), only });
    if (r.failures) rc = 1;
    if (!r.passes) rc = fail('no test ran');
  } catch (e) {
    rc = fail(e.message);
  } finally {
    const wasRunning = child && !exited;
    const st = await stopCollector();
    removeDataDir();
    if (child) {
      if (!wasRunning) rc = fail(`the collector (pid ${child.pid}) died during the tests (${st?.code ?? st?.signal}):\n${tail(output)}`);
      else if (st?.code !== 0) rc = fail(`the collector (pid ${child.pid}) exited with ${st?.code ?? st?.signal} on SIGTERM:\n${tail(output)}`);
      else console.log(`stopped the collector (pid ${child.pid}, exit 0) and removed its data dir`);
    }
    if (rc && output) console.error(`collector output:\n${tail(output)}`);
  }
  return rc;
}

const rc = await main();
if (stopping) await stopping;
process.exit(rc);
