#!/usr/bin/env node
// Trace viewer benchmark (not part of `make test`): headless Debian chromium, the built UI
// (web/dist) and generated Jaeger-shaped fixtures served by web/tests/browser/server.mjs.
//   - first paint of a 5,000-span trace: navigation start → waterfall painted (target ≤ 1 s)
//   - render of a 1,000-trace search: response parsed → results and scatter painted (target ≤ 300 ms)
// Usage: node bench/web/ui_bench.mjs [--runs N] [--write]   (--write updates docs/benchmarks.md)
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { startServer, DEFAULT_DIST } = await import(path.join(root, 'web/tests/browser/server.mjs'));
const { launch, CHROMIUM } = await import(path.join(root, 'web/tests/browser/harness.mjs'));
const { resources } = await import(path.join(root, 'web/tests/fixtures/flows.mjs'));
const { bigTrace, manyTraces } = await import(path.join(here, 'ui_bench_lib.mjs'));

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || (args.includes('--runs') ? 5 : 7);
const WRITE = args.includes('--write');

const median = (a) => { const s = a.slice().sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const best = (a) => Math.min(...a);

async function measure(page, url, name) {
  await page.goto(url);
  await page.waitForFunction((n) => performance.getEntriesByName(`${n}-painted`).length > 0, name, { timeout: 60_000 });
  return page.evaluate((n) => {
    const get = (m) => performance.getEntriesByName(m)[0]?.startTime ?? NaN;
    return { fetched: get(`${n}-fetched`), rendered: get(`${n}-rendered`), painted: get(`${n}-painted`), rows: document.querySelectorAll('[data-testid=span-row], [data-testid=result]').length };
  }, name);
}

async function main() {
  if (!fs.existsSync(path.join(DEFAULT_DIST, 'index.html'))) throw new Error('web/dist is missing: run npm run build in web/');
  const now = Date.now();
  const big = bigTrace(5000, now);
  const many = manyTraces(1000, now);
  const model = { resources: resources(), traces: [big.trace, ...many], logs: big.logs };
  const server = await startServer({ model });
  const browser = await launch({ viewport: { width: 1400, height: 900 } });
  const page = await browser.context.newPage();
  const trace = [];
  const search = [];
  try {
    // warm-up (module cache, JIT) then measured runs
    await measure(page, `${server.url}/trace/${big.trace.traceId}`, 'trace');
    for (let i = 0; i < RUNS; i++) trace.push(await measure(page, `${server.url}/trace/${big.trace.traceId}`, 'trace'));
    const q = `${server.url}/search?service=client-gateway&lookback=1h&limit=1000`;
    await measure(page, q, 'search');
    for (let i = 0; i < RUNS; i++) search.push(await measure(page, q, 'search'));
  } finally {
    await browser.close();
    await server.close();
  }
  const chromeVersion = (() => { try { return /(\d+\.\d+\.\d+\.\d+)/.exec(execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1] ?? null; } catch { return null; } })();
  const res = {
    tracePaint: median(trace.map((r) => r.painted)),
    tracePaintBest: best(trace.map((r) => r.painted)),
    traceRenderBest: best(trace.map((r) => r.painted - r.fetched)),
    searchRenderBest: best(search.map((r) => r.painted - r.fetched)),
    searchTotalBest: best(search.map((r) => r.painted)),
    traceRender: median(trace.map((r) => r.painted - r.fetched)),
    traceRows: trace[0].rows,
    searchRender: median(search.map((r) => r.painted - r.fetched)),
    searchTotal: median(search.map((r) => r.painted)),
    searchRows: search[0].rows,
    runs: RUNS,
  };
  const loadAvg = os.loadavg()[0].toFixed(1);
  const ms = (v) => `${Math.round(v)} ms`;
  const table = [
    '| measure | target | median | best | runs |',
    '|---|---|---|---|---|',
    `| 5,000-span trace: navigation → waterfall painted (fetch + parse + tree + critical path + minimap + first rows; all 5,000 rows follow in chunks) | ≤ 1 s | **${ms(res.tracePaint)}** | ${ms(res.tracePaintBest)} | ${RUNS} |`,
    `| ↳ of which after the trace JSON arrived (build + render + paint) | – | ${ms(res.traceRender)} | ${ms(res.traceRenderBest)} | ${RUNS} |`,
    `| 1,000-trace search: response parsed → summaries, 1,000-dot scatter plot and first results painted (the other results follow) | ≤ 300 ms | **${ms(res.searchRender)}** | ${ms(res.searchRenderBest)} | ${RUNS} |`,
    `| ↳ whole page: navigation → results painted (services, 1,000 summaries from /api/trace-summaries) | – | ${ms(res.searchTotal)} | ${ms(res.searchTotalBest)} | ${RUNS} |`,
  ].join('\n');
  console.log(table);
  console.log(`load average ${loadAvg}`);
  if (WRITE) writeSection(table, loadAvg, chromeVersion);
  const ok = res.tracePaint <= 1000 && res.searchRender <= 300;
  console.log(ok ? 'both targets met' : 'a target was missed');
}

/** SCHED_FIFO (under `chrt -f`) or the normal scheduler: field 41 of /proc/self/stat. */
function schedMode() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[41 - 3]) === 1 ? 'fifo' : 'normal';
  } catch {
    return 'normal';
  }
}

/** Rewrites docs/benchmarks.md's "## Trace viewer (web/)" section, keeping the other scheduler's table. */
function writeSection(table, loadAvg, chromeVersion) {
  const file = path.join(root, 'docs/benchmarks.md');
  const md = fs.readFileSync(file, 'utf8');
  const head = '## Trace viewer (web/)';
  const start = md.indexOf(head);
  if (start < 0) throw new Error(`${head} not found in docs/benchmarks.md`);
  const nextIdx = md.indexOf('\n## ', start + head.length);
  const end = nextIdx < 0 ? md.length : nextIdx + 1;
  const old = md.slice(start, end);
  const mode = schedMode();
  const block = (m) => {
    const re = new RegExp(`<!-- ui-bench:${m} -->[\\s\\S]*?<!-- /ui-bench:${m} -->`);
    return re.exec(old)?.[0] ?? null;
  };
  const title = mode === 'fifo'
    ? '`chrt -f 50 node bench/web/ui_bench.mjs --write` (SCHED_FIFO: the browser and the fixture server are not preempted by the compile jobs sharing the machine)'
    : '`node bench/web/ui_bench.mjs --write` (normal scheduling, sharing the 2 cores with whatever else runs)';
  const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; } })();
  const fresh = `<!-- ui-bench:${mode} -->\n${title}, ${new Date().toISOString().slice(0, 10)}${commit ? `, commit ${commit}` : ''}, load average ${loadAvg}:\n\n${table}\n<!-- /ui-bench:${mode} -->`;
  const blocks = { fifo: block('fifo'), normal: block('normal') };
  blocks[mode] = fresh;
  const section = `${head}\n\n`
    + `\`bench/web/ui_bench.mjs\` (after \`npm run build\` in web/) drives headless Debian chromium${chromeVersion ? ` ${chromeVersion}` : ''} through playwright-core `
    + `against the built UI, served with generated Jaeger-shaped fixtures by web/tests/browser/server.mjs: one trace of 5,000 spans `
    + `(6 services, ~12 tags each, 500 log records) and, for the search, 1,000 order traces of 25 spans, which the search page asks for `
    + `as 1,000 summaries (flowex's /api/trace-summaries; from a plain Jaeger it would be a 25 MB /api/traces response of every span: `
    + `1,627 ms for the whole page, 163 ms from response to results, measured before the change on 2026-12-02). `
    + `Times are the page's own performance marks: navigation start → \`trace-painted\`, and \`search-fetched\` (response parsed) → \`search-painted\` `
    + `(a task after the frame that shows the result). Median and best of ${RUNS} runs after a warm-up. `
    + `Both pages paint the first screenful of rows at once and append the rest in chunks on later tasks; off-screen rows use \`content-visibility: auto\`; `
    + `the minimap is a canvas; a trace page starts fetching its trace from index.html while the app's script loads. `
    + `The targets are judged on the SCHED_FIFO run (the page's own work); the normal run is the same page while compile jobs keep the load average far above the 2 cores, where wall times stretch 2–4×. \`node bench/web/ui_profile.mjs\` prints where the time goes (CPU profile by function).\n\n`
    + [blocks.fifo, blocks.normal].filter(Boolean).join('\n\n') + '\n\n';
  fs.writeFileSync(file, md.slice(0, start) + section + md.slice(end));
  console.log(`updated ${path.relative(process.cwd(), file)} (${mode} scheduling)`);
}

main().catch((e) => { console.error(e); process.exit(1); });
