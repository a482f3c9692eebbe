// Browser tests of the trace viewer: headless Debian chromium (playwright-core) against
// either a node server of our own (web/dist + Jaeger-shaped JSON from tests/fixtures), or a
// real collector when FLOWEX_UI_BASE_URL is set (filled with the same flows over OTLP).
//
//   npm run test:browser                       fixture server on a free 127.0.0.1 port
//   FLOWEX_UI_BASE_URL=http://127.0.0.1:16686 npm run test:browser
//   FLOWEX_UI_BASE_URL=http://127.0.0.1:16686 FLOWEX_UI_OTLP_ENDPOINT=http://127.0.0.1:4318 npm run test:browser
//                                              (first sends the fixture flows to the collector over OTLP)
//   FLOWEX_UI_TESTS=map,monitor npm run test:browser   (a subset, by name fragment)
//   node tests/browser/collector-run.mjs build/bin/flowex-collector
//                                              (starts a private collector, fills it, runs these tests: ctest web.browser.collector)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launch } from './harness.mjs';
import { startServer, DEFAULT_DIST, JAEGER_ENDPOINTS, FLOWEX_EXTRAS } from './server.mjs';
import { makeFlows, flatten, idGen, orderFlow } from '../fixtures/flows.mjs';
import { fillCollector, sendOtlp } from '../fixtures/send-otlp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = path.resolve(here, '../../test-results');
let RESULTS = RESULTS_DIR;
const TIMEOUT = 15_000;

const FIVE = ['client-gateway', 'user-service', 'order-manager', 'risk-manager', 'wallet-service'];
const BRIEF_SPANS = ['POST /v1/order', 'place_order', 'GET /me', 'verify_token', 'POST /order', 'create_order', 'POST /validate', 'validate_order',
  'POST /block-funds', 'block_funds', 'UPDATE wallets', 'INSERT orders', 'match_order', 'publish_event'];

const apiCalls = []; // every /api request the pages made, for the endpoint check
const tests = [];
const test = (name, fn, opts = {}) => tests.push({ name, fn, ...opts });

// ---------- helpers ----------
async function texts(page, sel) {
  return page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
}
async function waitText(page, sel, needle, timeout = TIMEOUT) {
  await page.waitForFunction(([s, n]) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(n)), [sel, needle], { timeout });
}
async function shot(page, name) {
  fs.mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: path.join(RESULTS, `${name}.png`) });
}
async function search(page, base, { service, tags = '', extra = '' }) {
  await page.goto(`${base}/search${extra}`);
  await page.waitForSelector(`[data-testid=service] option[value="${service}"]`, { state: 'attached', timeout: TIMEOUT });
  await page.selectOption('[data-testid=service]', service);
  await page.fill('[data-testid=tags]', tags);
  await page.click('[data-testid=find]');
  await page.waitForSelector('[data-testid=result], [data-testid=no-results], [data-testid=search-error]', { timeout: TIMEOUT });
}
async function openOrderTrace(page, base, expected) {
  await search(page, base, { service: 'client-gateway', tags: 'symbol=AAPL side=BUY quantity=10' });
  const n = await page.locator('[data-testid=result]').count();
  assert.ok(n >= 1, 'the AAPL BUY 10 order is found');
  if (expected) {
    assert.equal(n, 1, 'exactly the AAPL BUY 10 order');
    assert.equal(await page.locator('[data-testid=result]').first().getAttribute('data-trace-id'), expected.special.orderTraceId);
  }
  await page.locator('[data-testid=result]').first().click();
  await page.waitForSelector('[data-testid=span-row]', { timeout: TIMEOUT });
  return page.url().split('/trace/')[1];
}
async function clickSpan(page, op) {
  await page.locator('[data-testid=span-row]', { has: page.locator(`[data-testid=span-op]:text-is("${op}")`) }).first().click();
  await page.waitForSelector('[data-testid=span-detail]', { timeout: TIMEOUT });
}
/** Calls from `parent` to `child` in a model: parent→child span pairs across services, plus DB/Redis client spans. */
function expectedCalls(model, parent, child) {
  let n = 0;
  for (const t of model.traces) {
    const byId = new Map(t.spans.map((sp) => [sp.spanId, sp]));
    for (const sp of t.spans) {
      if (byId.get(sp.parentSpanId)?.service === parent && sp.service === child) n++;
      if (sp.service === parent && (sp.kind === 'CLIENT' || sp.kind === 'PRODUCER') && sp.attributes['db.system.name'] && sp.attributes['service.peer.name'] === child) n++;
    }
  }
  return n;
}
async function attrs(page) {
  return page.$$eval('[data-testid=span-detail] [data-testid=span-attributes] tr', (rows) =>
    Object.fromEntries(rows.map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent])));
}

// ---------- tests ----------
test('search: client-gateway with error=true finds the rejected order', async ({ page, base, expected, sent }) => {
  await search(page, base, { service: 'client-gateway', tags: 'error=true' });
  const results = page.locator('[data-testid=result]');
  const n = await results.count();
  assert.ok(n >= 1, 'at least one trace with errors');
  for (let i = 0; i < n; i++) assert.match(await results.nth(i).getAttribute('class'), /is-error/, 'every result has an error');
  const titles = await texts(page, '[data-testid=result] .r-name');
  assert.ok(titles.some((t) => t.includes('client-gateway:') && t.includes('POST /v1/order')), `the rejected POST /v1/order is listed: ${titles}`);
  if (expected) {
    assert.equal(n, 1, 'exactly the one rejected order');
    assert.equal(await results.first().getAttribute('data-trace-id'), expected.special.rejectedTraceId);
  }
  if (sent) {
    const ids = await page.$$eval('[data-testid=result]', (rs) => rs.map((r) => r.getAttribute('data-trace-id')));
    assert.ok(ids.includes(sent.special.rejectedTraceId), 'the rejected order sent over OTLP is found');
  }
  assert.match(await page.textContent('[data-testid=result] .r-errors'), /\d+ Errors?/);
  const u = new URL(page.url());
  assert.equal(u.pathname, '/search');
  assert.equal(u.searchParams.get('service'), 'client-gateway');
  assert.equal(u.searchParams.get('tags'), 'error=true');
  assert.equal(u.searchParams.get('lookback'), '1h');
  assert.equal(u.searchParams.get('limit'), '20');
  assert.equal(await page.locator('[data-testid=scatter] circle.err').count(), n, 'error dots in the scatter plot');
  await shot(page, 'search-error');
  // the URL is the search: loading it again gives the same results
  await page.goto(page.url());
  await page.waitForSelector('[data-testid=result]', { timeout: TIMEOUT });
  assert.equal(await page.locator('[data-testid=result]').count(), n);
  assert.equal(await page.inputValue('[data-testid=tags]'), 'error=true');
  // the rejected order's trace marks the span that decided it
  await page.locator('[data-testid=result]').first().click();
  await page.waitForSelector('[data-testid=span-row]', { timeout: TIMEOUT });
  assert.ok(Number(await page.textContent('[data-testid=meta-errors]')) >= 1);
  await clickSpan(page, 'block_funds');
  assert.match(await page.textContent('[data-testid=span-detail] [data-testid=span-status]'), /ERROR/);
  const a = await attrs(page);
  assert.equal(a['error.type'], 'insufficient_funds');
  assert.equal(a.error, 'true');
  await shot(page, 'trace-rejected');
});

test('search: results, scatter plot, sort orders and limit', async ({ page, base, expected }) => {
  await page.goto(`${base}/search?service=client-gateway&lookback=1h&limit=20`);
  await page.waitForSelector('[data-testid=result]', { timeout: TIMEOUT });
  const n = await page.locator('[data-testid=result]').count();
  if (expected) {
    assert.equal(n, expected.traces.filter((t) => t.spans.some((s) => s.service === 'client-gateway')).length);
    // the service list counts the service's server spans in the lookback (from Jaeger's SPM calls)
    const calls = expected.traces.flatMap((t) => t.spans).filter((sp) => sp.service === 'client-gateway' && sp.kind === 'SERVER').length;
    await page.waitForFunction((want) => document.querySelector('[data-testid=service] option[value="client-gateway"]')?.textContent === want, `client-gateway (${calls})`, { timeout: TIMEOUT })
      .catch(async () => assert.fail(`service option "${await page.textContent('[data-testid=service] option[value="client-gateway"]')}", want "client-gateway (${calls})"`));
  }
  assert.ok(n >= 3);
  assert.equal(await page.locator('[data-testid=scatter] circle').count(), n, 'one dot per trace');
  assert.match(await page.textContent('[data-testid=result-count]'), new RegExp(`^${n} Traces?$`));
  const first = await page.textContent('[data-testid=result] .result-body');
  assert.match(first, /\d+ Spans?/);
  assert.match(first, /client-gateway \(\d+\)/, 'services with span counts');
  assert.match(first, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/, 'start time');
  await shot(page, 'search');
  const durations = async () => (await texts(page, '[data-testid=result] .r-dur')).map((t) => {
    const m = /([\d.]+)(µs|ms|s)/.exec(t);
    return parseFloat(m[1]) * { µs: 1, ms: 1e3, s: 1e6 }[m[2]];
  });
  await page.selectOption('[data-testid=sort]', 'longest');
  let d = await durations();
  assert.deepEqual(d, d.slice().sort((a, b) => b - a), 'longest first');
  assert.match(page.url(), /sort=longest/);
  await page.selectOption('[data-testid=sort]', 'shortest');
  d = await durations();
  assert.deepEqual(d, d.slice().sort((a, b) => a - b), 'shortest first');
  await page.selectOption('[data-testid=sort]', 'spans');
  const spans = (await texts(page, '[data-testid=result] .r-spans')).map((t) => parseInt(t, 10));
  assert.deepEqual(spans, spans.slice().sort((a, b) => b - a), 'most spans first');
  await page.goto(`${base}/search?service=client-gateway&lookback=1h&limit=3`);
  await page.waitForSelector('[data-testid=result]', { timeout: TIMEOUT });
  assert.equal(await page.locator('[data-testid=result]').count(), Math.min(3, n));
  assert.equal(await page.inputValue('[data-testid=limit]'), '3');
  await page.goto(`${base}/search?service=client-gateway&lookback=1h&minDuration=5s`);
  await page.waitForSelector('[data-testid=no-results]', { timeout: TIMEOUT });
});

test('trace: the order shows all five services and the brief\'s span names', async ({ page, base, expected }) => {
  const id = await openOrderTrace(page, base, expected);
  assert.match(id, /^[0-9a-f]{16,32}$/);
  assert.equal(await page.textContent('[data-testid=trace-id]'), id);
  const services = await texts(page, '[data-testid=trace-services] .svc-chip');
  for (const s of FIVE) assert.ok(services.includes(s), `service ${s} in the header (${services})`);
  assert.ok(Number(await page.textContent('[data-testid=meta-services]')) >= 5);
  assert.ok(Number(await page.textContent('[data-testid=meta-depth]')) >= 6, 'gateway → order-manager → wallet-service → postgresql is deep');
  assert.ok(Number(await page.textContent('[data-testid=meta-spans]')) >= BRIEF_SPANS.length);
  if (expected) assert.equal(Number(await page.textContent('[data-testid=meta-spans]')), expected.traces.find((t) => t.traceId === id).spans.length, 'every span of the order');
  assert.equal(await page.textContent('[data-testid=meta-errors]'), '0');
  const ops = await texts(page, '[data-testid=span-op]');
  for (const op of BRIEF_SPANS) assert.ok(ops.includes(op), `span ${op} in the timeline`);
  const rowServices = await texts(page, '[data-testid=span-row] .svc');
  for (const s of FIVE) assert.ok(rowServices.includes(s), `rows of ${s}`);
  assert.ok(await page.locator('.row.on-cp').count() >= 3, 'critical path rows');
  assert.ok(await page.locator('.row .cp').count() >= 3, 'critical path segments');
  assert.equal(await page.locator('[data-testid=ruler] .tick').count(), 6);
  assert.equal(Number(await page.getAttribute('[data-testid=minimap]', 'data-spans')), ops.length, 'the minimap draws every span');
  await shot(page, 'trace');
  // collapse create_order's subtree and expand it again
  const before = await page.locator('[data-testid=span-row]').count();
  const row = page.locator('[data-testid=span-row]', { has: page.locator('[data-testid=span-op]:text-is("create_order")') }).first();
  await row.locator('.toggle').click();
  const collapsed = await page.locator('[data-testid=span-row]').count();
  assert.ok(collapsed < before - 5, `collapsing hides the subtree (${before} → ${collapsed})`);
  assert.match(await row.textContent(), /\+\d+/);
  await row.locator('.toggle').click();
  assert.equal(await page.locator('[data-testid=span-row]').count(), before);
  // turning the critical path off removes the highlight
  await page.uncheck('[data-testid=cp-toggle]');
  assert.equal(await page.locator('.row .cp').count(), 0);
});

test('trace: a span\'s details show symbol, side and quantity', async ({ page, base, expected }) => {
  await openOrderTrace(page, base, expected);
  await clickSpan(page, 'place_order');
  const a = await attrs(page);
  assert.equal(a.symbol, 'AAPL');
  assert.equal(a.side, 'BUY');
  assert.equal(a.quantity, '10');
  assert.equal(a.user_id, '11');
  const detail = await page.textContent('[data-testid=span-detail]');
  assert.match(detail, /Resource \(process\)/i);
  assert.match(await page.textContent('[data-testid=span-detail] [data-testid=span-process]'), /service\.name\s*client-gateway/);
  const ids = await page.textContent('[data-testid=span-detail] [data-testid=span-ids]');
  assert.match(ids, /span id\s*[0-9a-f]{16}/);
  assert.match(ids, /parent span id\s*[0-9a-f]{16}/);
  assert.match(detail, /CHILD_OF/);
  assert.match(await page.textContent('[data-testid=span-detail] [data-testid=span-status]'), /UNSET|OK/);
  await shot(page, 'span-details');
  // the wallet's DB span carries the semantic-convention attributes
  await clickSpan(page, 'UPDATE wallets');
  const details = await texts(page, '[data-testid=span-detail] [data-testid=span-attributes]');
  assert.ok(details.some((t) => t.includes('db.system.name') && t.includes('postgresql') && t.includes('service.peer.name')));
});

test('trace: the trace\'s logs appear beside their spans', async ({ page, base, expected }) => {
  const id = await openOrderTrace(page, base, expected);
  await page.waitForSelector('[data-testid=logs-count]', { timeout: TIMEOUT });
  assert.match(await page.textContent('[data-testid=logs-count]'), /^\d+ log records?$/);
  if (expected) assert.equal(parseInt(await page.textContent('[data-testid=logs-count]'), 10), expected.logs.filter((l) => l.traceId === id).length, 'every log record of the order');
  assert.ok(await page.locator('[data-testid=span-row] .log-badge').count() >= 2, 'log badges on the spans that logged');
  // in the span's details
  await clickSpan(page, 'create_order');
  await waitText(page, '[data-testid=span-detail] [data-testid=span-logs]', 'Validating order for user 11, symbol AAPL');
  await shot(page, 'trace-span-logs');
  // in the Logs tab, each linked to its span
  await page.click('[data-testid=tab-logs]');
  await page.waitForSelector('[data-testid=log-record]', { timeout: TIMEOUT });
  const logs = await texts(page, '[data-testid=log-record]');
  assert.ok(logs.some((l) => l.includes('Blocking $1500.00 for user 11') && l.includes('wallet-service') && l.includes('block_funds')), 'the brief\'s wallet log line, on block_funds');
  assert.ok(logs.some((l) => l.includes('Sending to risk-manager for validation')));
  assert.ok(logs.some((l) => /"POST \/v1\/order HTTP\/1\.1" 201/.test(l)), 'the access line');
  await shot(page, 'trace-logs');
  await page.locator('[data-testid=log-record] a', { hasText: 'block_funds' }).first().click();
  await waitText(page, '[data-testid=span-detail] .detail-title', 'block_funds');
  // statistics and JSON
  await page.click('[data-testid=tab-stats]');
  const stats = await page.textContent('[data-testid=stats-operations]');
  assert.match(stats, /place_order/);
  assert.match(stats, /Self time/);
  assert.match(await page.textContent('[data-testid=stats-services]'), /wallet-service/);
  await page.click('[data-testid=tab-json]');
  assert.match(await page.textContent('[data-testid=trace-json]'), new RegExp(`"traceID": "${id}"`));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-json]')]);
  const file = await download.path();
  const body = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(body.data[0].traceID, id);
  assert.ok(body.data[0].spans.length >= BRIEF_SPANS.length);
});

test('trace: a trace cut to the span limit says how many spans are left out, and "Show every span" loads them', async ({ page, base, expected }) => {
  const id = await openOrderTrace(page, base, expected);
  const total = Number(await page.textContent('[data-testid=meta-spans]'));
  assert.ok(total > 5, `the order has more than 5 spans (${total})`);
  assert.equal(await page.locator('[data-testid=trace-warning]').count(), 0, 'a whole trace has no warning');
  await page.goto(`${base}/trace/${id}?maxSpans=3`);
  await page.waitForSelector('[data-testid=trace-warning]', { timeout: TIMEOUT });
  const shown = Number(await page.textContent('[data-testid=meta-spans]'));
  assert.ok(shown === 3 || shown === 4, `the first 3 spans to arrive, and the root (${shown} shown)`);
  assert.ok((await texts(page, '[data-testid=span-op]')).includes('POST /v1/order'), 'the root is kept');
  const warning = await page.textContent('[data-testid=trace-warning]');
  assert.ok(warning.startsWith(`${total - shown} spans of this trace are left out`), warning);
  await page.click('[data-testid=all-spans]');
  await page.waitForURL(/\?maxSpans=0$/, { timeout: TIMEOUT });
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=meta-spans]')?.textContent) === n, total, { timeout: TIMEOUT });
  assert.equal(await page.locator('[data-testid=trace-warning]').count(), 0, 'every span: no warning');
});

test('trace: logs cut to the log limit say how many records are left out, and "Show every log record" loads them', async ({ page, base, expected }) => {
  const id = await openOrderTrace(page, base, expected);
  await page.waitForSelector('[data-testid=logs-count]', { timeout: TIMEOUT });
  const total = parseInt(await page.textContent('[data-testid=logs-count]'), 10);
  assert.ok(total > 1, `the order has more than one log record (${total})`);
  await page.click('[data-testid=tab-logs]');
  assert.equal(await page.locator('[data-testid=logs-warning]').count(), 0, 'all of a trace\'s logs: no warning');
  await page.goto(`${base}/trace/${id}?maxLogs=1`);
  await page.waitForSelector('[data-testid=logs-count]', { timeout: TIMEOUT });
  assert.equal(await page.textContent('[data-testid=logs-count]'), '1 log record (more left out)');
  await page.click('[data-testid=tab-logs]');
  const warning = await page.textContent('[data-testid=logs-warning]');
  assert.ok(warning.startsWith(`${total - 1} log records of this trace are left out`), warning);
  await page.click('[data-testid=all-logs]');
  await page.waitForURL(/\?maxLogs=0$/, { timeout: TIMEOUT });
  await page.waitForFunction((n) => parseInt(document.querySelector('[data-testid=logs-count]')?.textContent ?? '', 10) === n, total, { timeout: TIMEOUT });
  await page.click('[data-testid=tab-logs]');
  assert.equal(await page.locator('[data-testid=logs-warning]').count(), 0, 'every log record: no warning');
  // A bad limit is the server's 400, said as such (not "no logs on this server").
  await page.goto(`${base}/trace/${id}?maxLogs=many`);
  await page.waitForSelector('[data-testid=logs-error]', { timeout: TIMEOUT });
  assert.match(await page.textContent('[data-testid=logs-error]'), /^Cannot load the log records: 400 .*maxLogs/);
});

test('trace: Find marks the spans that match, and Enter walks them, opening the tree down to each', async ({ page, base, expected }) => {
  await openOrderTrace(page, base, expected);
  await page.fill('[data-testid=span-find]', 'UPDATE wallets');
  await waitText(page, '[data-testid=find-count]', 'match');
  const n = parseInt(await page.textContent('[data-testid=find-count]'), 10);
  assert.ok(n >= 1, `the order updates wallets (${await page.textContent('[data-testid=find-count]')})`);
  const marked = await texts(page, '.row.match [data-testid=span-op]');
  assert.equal(marked.length, n, 'every match is marked');
  for (const op of marked) assert.match(op, /UPDATE wallets/i);
  const total = await page.locator('[data-testid=span-row]').count();
  assert.equal(await page.locator('[data-testid=span-row].dim').count(), total - n, 'the others are dimmed');
  await page.click('button:text-is("Collapse")');
  assert.equal(await page.locator('.row.match').count(), 0, 'collapsed: the matches are hidden');
  await page.press('[data-testid=span-find]', 'Enter');
  await waitText(page, '[data-testid=find-count]', `1 of ${n}`);
  assert.match(await page.textContent('.row.match.current [data-testid=span-op]'), /UPDATE wallets/i, 'Enter opens the tree down to the first match');
  await page.fill('[data-testid=span-find]', 'no-such-span-anywhere');
  await waitText(page, '[data-testid=find-count]', 'no match');
  await page.fill('[data-testid=span-find]', '');
  assert.equal(await page.locator('[data-testid=span-row].dim').count(), 0, 'an empty Find dims nothing');
});

test('compare: two traces merged by path, what only one did marked; "Compare…" asks for the second', async ({ page, base, expected }) => {
  const a = await openOrderTrace(page, base, expected);
  await search(page, base, { service: 'client-gateway', tags: 'error=true' });
  const b = await page.locator('[data-testid=result]').first().getAttribute('data-trace-id');
  assert.ok(b && b !== a, `a failed trace to compare with (${b})`);
  const rowsOf = () => page.$$eval('[data-testid=cmp-row]', (els) => els.map((e) => ({
    op: e.querySelector('[data-testid=cmp-op]').textContent, status: e.getAttribute('data-status'), depth: Number(e.getAttribute('data-depth')) })));
  await page.goto(`${base}/trace/${a}...${b}`);
  await page.waitForSelector('[data-testid=cmp-row]', { timeout: TIMEOUT });
  let rows = await rowsOf();
  assert.deepEqual(rows[0], { op: 'client-gateway: POST /v1/order', status: rows[0].status, depth: 0 }, 'the order\'s root comes first');
  assert.ok(rows.some((r) => r.status === 'only-a'), `the filled order did what the failed one did not: ${JSON.stringify(rows)}`);
  assert.equal(await page.getAttribute('[data-testid=cmp-a] a', 'href'), `/trace/${a}`);
  assert.equal(await page.getAttribute('[data-testid=cmp-b] a', 'href'), `/trace/${b}`);
  assert.match(await page.textContent('[data-testid=cmp-legend]'), /only in A: [1-9]/);
  await shot(page, 'compare');
  // A trace against itself: every path the same.
  await page.goto(`${base}/trace/${a}...${a}`);
  await page.waitForSelector('[data-testid=cmp-row]', { timeout: TIMEOUT });
  rows = await rowsOf();
  assert.ok(rows.length > 5 && rows.every((r) => r.status === 'same'), JSON.stringify(rows));
  // From the trace page: the form comes with A filled in.
  await page.goto(`${base}/trace/${a}`);
  await page.click('[data-testid=compare]');
  await page.waitForSelector('[data-testid=cmp-hint]', { timeout: TIMEOUT });
  assert.equal(await page.inputValue('[data-testid=cmp-input-a]'), a);
  await page.fill('[data-testid=cmp-input-b]', b);
  await page.click('[data-testid=cmp-submit]');
  await page.waitForURL(new RegExp(`/trace/${a}\\.\\.\\.${b}$`), { timeout: TIMEOUT });
  await page.waitForSelector('[data-testid=cmp-row]', { timeout: TIMEOUT });
  await page.goto(`${base}/trace/${a}...nothex`);
  assert.match(await page.textContent('[data-testid=cmp-error]'), /Not a trace ID: nothex/);
  // From the search results: tick two, in this order, and compare them.
  await search(page, base, { service: 'client-gateway' });
  const ids = await page.$$eval('[data-testid=result]', (els) => els.slice(0, 3).map((e) => e.getAttribute('data-trace-id')));
  assert.ok(ids.length === 3, `three results to choose from (${ids.length})`);
  assert.ok(await page.isDisabled('[data-testid=compare-selected]'), 'nothing ticked: no comparison');
  for (const i of [2, 0, 1]) await page.check(`[data-testid=result-select][data-select="${ids[i]}"]`);
  assert.ok(await page.isDisabled('[data-testid=compare-selected]'), 'three ticked: which two?');
  await page.uncheck(`[data-testid=result-select][data-select="${ids[0]}"]`);
  assert.ok(page.url().includes('/search'), 'ticking a result does not open it');
  await page.click('[data-testid=compare-selected]');
  await page.waitForURL(new RegExp(`/trace/${ids[2]}\\.\\.\\.${ids[1]}$`), { timeout: TIMEOUT });
  await page.waitForSelector('[data-testid=cmp-row]', { timeout: TIMEOUT });
});

test('service map: client-gateway → order-manager → wallet-service → postgresql', async ({ page, base, model, expected }) => {
  await page.goto(`${base}/map`);
  await page.waitForSelector('[data-testid=map-node]', { timeout: TIMEOUT });
  const nodes = await page.$$eval('[data-testid=map-node]', (els) => els.map((e) => e.getAttribute('data-node')));
  for (const n of [...FIVE, 'postgresql', 'redis']) assert.ok(nodes.includes(n), `node ${n} (${nodes})`);
  for (const [p, c] of [['client-gateway', 'order-manager'], ['order-manager', 'wallet-service'], ['wallet-service', 'postgresql'], ['order-manager', 'redis']]) {
    const edge = page.locator(`[data-testid=map-edge][data-parent="${p}"][data-child="${c}"]`);
    assert.equal(await edge.count(), 1, `edge ${p} → ${c}`);
    const calls = await edge.locator('text').textContent();
    assert.match(calls, /^\d+$/, 'call count');
    if (model) assert.equal(Number(calls), expectedCalls(model, p, c), `calls ${p} → ${c}`);
    else if (expected) assert.equal(Number(calls), expectedCalls(expected, p, c), `calls ${p} → ${c}`);
  }
  const cg = await page.textContent('[data-testid=map-node][data-node="client-gateway"]');
  assert.match(cg, /P95 [\d.]+(µs|ms|s) · err [\d.<]+%/, `client-gateway shows P95 and error rate: ${cg}`);
  assert.match(await page.getAttribute('[data-testid=map-node][data-node="client-gateway"]', 'class'), /health-(ok|warn|bad)/);
  await shot(page, 'service-map');
  await page.click('[data-testid=map-node][data-node="order-manager"]');
  await page.waitForURL(/\/monitor\?service=order-manager/, { timeout: TIMEOUT });
  await page.waitForSelector('[data-testid=monitor-row]', { timeout: TIMEOUT });
  assert.equal(await page.inputValue('[data-testid=monitor-kind]'), 'all', 'a node opens all of its operations, not only its server spans');
  const svcs = await page.$$eval('[data-testid=monitor-row]', (rs) => rs.map((r) => r.getAttribute('data-service')));
  assert.ok(svcs.length >= 2 && svcs.every((s) => s === 'order-manager'), `order-manager's operations: ${svcs}`);
  const ops = await page.$$eval('[data-testid=monitor-row]', (rs) => rs.map((r) => r.getAttribute('data-operation')));
  assert.ok(ops.includes('create_order') && ops.includes('POST /order') && ops.includes('INSERT orders'), `internal, server and client operations: ${ops}`);
  await shot(page, 'monitor-order-manager');
  // the default (Jaeger's): server spans only
  await page.selectOption('[data-testid=monitor-kind]', 'server');
  await page.waitForFunction(() => {
    const ops = [...document.querySelectorAll('[data-testid=monitor-row]')].map((r) => r.getAttribute('data-operation'));
    return ops.length > 0 && !ops.includes('create_order');
  }, null, { timeout: TIMEOUT });
  assert.deepEqual(await page.$$eval('[data-testid=monitor-row]', (rs) => rs.map((r) => r.getAttribute('data-operation'))), ['POST /order']);
});

test('monitor: P50/P95/P99, error % and req/s per operation, sortable', async ({ page, base }) => {
  await page.goto(`${base}/monitor`);
  const row = page.locator('[data-testid=monitor-row][data-service="client-gateway"][data-operation="POST /v1/order"]');
  await row.waitFor({ timeout: TIMEOUT });
  const p95 = await row.locator('[data-col=p95] b').textContent();
  assert.match(p95, /^[\d.]+(µs|ms|s)$/, `P95 of POST /v1/order: ${p95}`);
  assert.match(await row.locator('[data-col=p50]').textContent(), /^[\d.]+(µs|ms|s)$/);
  assert.match(await row.locator('[data-col=p99]').textContent(), /^[\d.]+(µs|ms|s)$/);
  assert.match(await row.locator('[data-col=errors] b').textContent(), /%$/);
  assert.match(await row.locator('[data-col=calls] b').textContent(), /\/s$/);
  assert.equal(await row.locator('svg.spark').count(), 3, 'sparklines');
  await shot(page, 'monitor');
  const p95s = async () => (await texts(page, '[data-testid=monitor-row] [data-col=p95] b')).map((t) => {
    const m = /([\d.]+)(µs|ms|s)/.exec(t);
    return m ? parseFloat(m[1]) * { µs: 1, ms: 1e3, s: 1e6 }[m[2]] : -1;
  });
  let v = await p95s();
  assert.deepEqual(v, v.slice().sort((a, b) => b - a), 'sorted by P95, highest first');
  await page.click('th[data-sort=p95]');
  v = await p95s();
  assert.deepEqual(v, v.slice().sort((a, b) => a - b), 'ascending after a click');
  assert.match(page.url(), /dir=asc/);
  await page.click('th[data-sort=service]');
  const s = await page.$$eval('[data-testid=monitor-row]', (rs) => rs.map((r) => r.getAttribute('data-service')));
  assert.deepEqual(s, s.slice().sort((a, b) => a.localeCompare(b)));
});

test('live: new traces stream in and every error links to its trace', async ({ page, base, model, sent, otlp }) => {
  await page.goto(`${base}/live`);
  if (!model) {
    // A real collector streams only traces that arrive now: connect, then send a few orders, one rejected.
    await waitText(page, '[data-testid=live-status]', 'live');
    if (!sent) return;
    const ids = idGen((Date.now() + 7) % 0xffffffff || 7);
    const now = Date.now();
    const orders = [['MSFT', 'SELL', 5, 410], ['GOOG', 'BUY', 3, 172], ['AMZN', 'BUY', 8, 185], ['AAPL', 'BUY', 2, 151], ['TSLA', 'SELL', 1, 250]];
    const fresh = orders.map(([symbol, side, quantity, price], i) => flatten(orderFlow({ userId: 20 + i, symbol, side, quantity, price, scale: 0.8 + 0.1 * i }), (now - (orders.length - i) * 1500) * 1000, ids));
    const rejected = flatten(orderFlow({ reject: true, symbol: 'NVDA', quantity: 999, price: 121 }), now * 1000, ids);
    fresh.push(rejected);
    await sendOtlp(otlp, { resources: sent.resources, traces: fresh.map((f) => f.trace), logs: fresh.flatMap((f) => f.logs) });
    for (const f of fresh) await page.locator(`[data-testid=live-row][data-trace-id="${f.trace.traceId}"]`).waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid=live-row]').count(), fresh.length, 'exactly the traces sent since the page connected');
    const err = page.locator('[data-testid=live-row].is-error');
    assert.equal(await err.count(), 1, 'one rejected order');
    assert.equal(await err.getAttribute('data-trace-id'), rejected.trace.traceId);
    assert.equal(await err.getAttribute('href'), `/trace/${rejected.trace.traceId}`);
    await shot(page, 'live');
    await page.check('[data-testid=live-errors-only]');
    assert.equal(await page.locator('[data-testid=live-row]').count(), 1);
    await page.click('[data-testid=live-error]');
    await page.waitForURL(new RegExp(`/trace/${rejected.trace.traceId}$`), { timeout: TIMEOUT });
    await page.waitForSelector('[data-testid=span-row]', { timeout: TIMEOUT });
    assert.ok(Number(await page.textContent('[data-testid=meta-errors]')) >= 1);
    return;
  }
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=live-row]').length >= n, model.traces.length, { timeout: TIMEOUT });
  assert.match(await page.textContent('[data-testid=live-status]'), /live/);
  const err = page.locator('[data-testid=live-row].is-error');
  assert.equal(await err.count(), 1);
  assert.equal(await err.getAttribute('href'), `/trace/${model.special.rejectedTraceId}`);
  await shot(page, 'live');
  await page.check('[data-testid=live-errors-only]');
  assert.equal(await page.locator('[data-testid=live-row]').count(), 1);
  await page.click('[data-testid=live-error]');
  await page.waitForURL(new RegExp(`/trace/${model.special.rejectedTraceId}$`), { timeout: TIMEOUT });
  await page.waitForSelector('[data-testid=span-row]', { timeout: TIMEOUT });
  assert.ok(Number(await page.textContent('[data-testid=meta-errors]')) >= 1);
});

test('extras absent (plain Jaeger): logs hidden with a notice, live tail falls back to polling, search summarises full traces', async ({ page, model, plain }) => {
  await page.goto(`${plain.url}/trace/${model.special.orderTraceId}`);
  await page.waitForSelector('[data-testid=span-row]', { timeout: TIMEOUT });
  await page.waitForSelector('[data-testid=logs-unavailable]', { timeout: TIMEOUT });
  assert.match(await page.textContent('[data-testid=logs-unavailable]'), /not available/);
  assert.equal(await page.locator('[data-testid=tab-logs]').count(), 0, 'no Logs tab');
  assert.equal(await page.locator('.log-badge').count(), 0);
  await clickSpan(page, 'place_order');
  assert.equal((await attrs(page)).symbol, 'AAPL');
  assert.match(await page.textContent('[data-testid=span-detail] [data-testid=span-logs]'), /not available/);
  await shot(page, 'degraded-trace');
  await page.goto(`${plain.url}/live`);
  await page.waitForSelector('[data-testid=live-unavailable]', { timeout: TIMEOUT });
  await page.waitForSelector('[data-testid=live-row]', { timeout: TIMEOUT });
  assert.match(await page.textContent('[data-testid=live-status]'), /polling/);
  await shot(page, 'degraded-live');
  await page.goto(`${plain.url}/search?service=client-gateway&lookback=1h&tags=error%3Dtrue`);
  await page.waitForSelector('[data-testid=result]', { timeout: TIMEOUT });
  assert.equal(await page.locator('[data-testid=result]').first().getAttribute('data-trace-id'), model.special.rejectedTraceId);
  assert.match(await page.textContent('[data-testid=result] .r-errors'), /\d+ Errors?/);
  const extras = plain.requests.filter((r) => FLOWEX_EXTRAS.some((re) => re.test(r.path)));
  assert.ok(extras.some((r) => r.path.endsWith('/logs')) && extras.some((r) => r.path === '/api/live') &&
    extras.some((r) => r.path === '/api/trace-summaries'), 'the UI asked, got 404, and coped');
  assert.ok(plain.requests.some((r) => r.path === '/api/traces' && /service=client-gateway/.test(r.query)), 'the search fell back to /api/traces');
}, { fixtureOnly: true });

test('routes: any non-/api path is handled client-side', async ({ page, base }) => {
  await page.goto(`${base}/`);
  await page.waitForSelector('[data-testid=search-form]', { timeout: TIMEOUT });
  await page.goto(`${base}/no/such/page`);
  await waitText(page, 'main', 'Not found');
  await shot(page, 'not-found');
  await page.goto(`${base}/trace/00000000000000000000000000000bad`);
  await page.waitForSelector('[data-testid=trace-error]', { timeout: TIMEOUT });
  // the top bar's links navigate without a reload
  await page.goto(`${base}/search`);
  await page.evaluate(() => { window.__marker = 1; });
  await page.click('#topbar a[data-nav="/monitor"]');
  await page.waitForURL(/\/monitor/, { timeout: TIMEOUT });
  assert.equal(await page.evaluate(() => window.__marker), 1, 'same document');
  await page.goBack();
  await page.waitForSelector('[data-testid=search-form]', { timeout: TIMEOUT });
});

test('the UI calls only Jaeger\'s endpoints, plus the three flowex extras', async ({ base }) => {
  assert.ok(apiCalls.length > 20, `requests were recorded (${apiCalls.length})`);
  const bad = apiCalls.filter((u) => ![...JAEGER_ENDPOINTS, ...FLOWEX_EXTRAS].some((re) => re.test(u.pathname)));
  assert.deepEqual(bad.map((u) => u.pathname), [], 'no other /api endpoint');
  const allowed = {
    '/api/traces': ['service', 'operation', 'tags', 'start', 'end', 'lookback', 'minDuration', 'maxDuration', 'limit'],
    '/api/trace-summaries': ['service', 'operation', 'tags', 'start', 'end', 'lookback', 'minDuration', 'maxDuration', 'limit'],
    '/api/dependencies': ['endTs', 'lookback'],
    '/api/operations': ['service', 'spanKind'],
  };
  const metrics = ['service', 'groupByOperation', 'quantile', 'endTs', 'lookback', 'step', 'ratePer', 'spanKind'];
  for (const u of apiCalls) {
    const names = allowed[u.pathname] ?? (u.pathname.startsWith('/api/metrics/') ? metrics : null);
    if (!names) continue;
    for (const k of u.searchParams.keys()) assert.ok(names.includes(k), `${u.pathname} parameter ${k} is Jaeger's`);
    if ((u.pathname === '/api/traces' || u.pathname === '/api/trace-summaries') && u.searchParams.get('tags')) {
      const tags = JSON.parse(u.searchParams.get('tags'));
      assert.ok(Object.values(tags).every((v) => typeof v === 'string'), 'tags is a JSON map of strings');
    }
  }
  assert.ok(apiCalls.some((u) => u.pathname === '/api/trace-summaries' && u.searchParams.get('tags') === '{"error":"true"}'), 'error=true became {"error":"true"}');
  assert.ok(!apiCalls.some((u) => u.origin === new URL(base).origin && u.pathname === '/api/traces' && u.searchParams.has('service')),
    'searches ask for summaries, not every span');
});

// ---------- runner ----------
/**
 * Runs the tests and resolves to { passes, failures, skipped }.
 *   fixture mode (no `base`): starts the node fixture servers;
 *   collector mode (`base` = a collector's query URL): `sent` is the model already sent to it
 *     over `otlp` (or null), `exact` says the collector holds nothing else (a private one), so
 *     counts are asserted exactly.
 */
export async function runBrowserTests({ base: real = '', otlp = '', sent = null, exact = false, results = RESULTS_DIR, only = [] } = {}) {
  RESULTS = results;
  let failures = 0;
  let passes = 0;
  let skipped = 0;
  let model = null;
  let servers = [];
  let base = real;
  const started = Date.now();
  if (fs.existsSync(RESULTS)) for (const f of fs.readdirSync(RESULTS)) if (f.startsWith('FAILED-')) fs.rmSync(path.join(RESULTS, f));
  if (!real) {
    if (!fs.existsSync(path.join(DEFAULT_DIST, 'index.html'))) throw new Error(`web/dist/index.html is missing: run npm run build in web/ first`);
    model = makeFlows();
    const main = await startServer({ model });
    const plain = await startServer({ model, extras: false });
    servers = [main, plain];
    base = main.url;
    console.log(`fixture server ${main.url} (plain Jaeger, no extras: ${plain.url})`);
  } else {
    console.log(`collector under test: ${real}${sent ? ` (filled over OTLP at ${otlp}: order ${sent.special.orderTraceId}, rejected ${sent.special.rejectedTraceId})` : ''}`);
  }
  let browser;
  try {
    browser = await launch();
  } catch (e) {
    for (const s of servers) await s.close();
    throw new Error(`browser: ${e.message}`);
  }
  try {
    for (const t of tests) {
      if (only.length && !only.some((o) => t.name.includes(o))) continue;
      if (t.fixtureOnly && real) {
        skipped++;
        console.log(`- ${t.name} (fixture server only)`);
        continue;
      }
      const page = await browser.context.newPage();
      const pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith('/api/')) apiCalls.push(u);
      });
      const t0 = Date.now();
      try {
        // `expected`: the model whose exact counts the server must show (the fixture's, or what a private collector was sent)
        await t.fn({ page, base, model: real ? null : model, sent, otlp, expected: real ? (exact ? sent : null) : model, plain: servers[1] });
        if (pageErrors.length) throw new Error(`uncaught page errors: ${pageErrors.join('; ')}`);
        passes++;
        console.log(`✓ ${t.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failures++;
        console.log(`✗ ${t.name} (${Date.now() - t0} ms)\n    ${String(e.stack || e).split('\n').slice(0, 6).join('\n    ')}`);
        await shot(page, `FAILED-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
      } finally {
        await page.close().catch(() => {});
      }
    }
  } finally {
    await browser.close();
    for (const s of servers) await s.close();
  }
  console.log(`\nscreenshots in ${path.relative(process.cwd(), RESULTS) || RESULTS}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passes} passed, ${failures} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return { passes, failures, skipped };
}

async function main() {
  const real = process.env.FLOWEX_UI_BASE_URL?.replace(/\/+$/, '') || '';
  const otlp = process.env.FLOWEX_UI_OTLP_ENDPOINT?.replace(/\/+$/, '') || '';
  const only = (process.env.FLOWEX_UI_TESTS || '').split(',').map((s) => s.trim()).filter(Boolean);
  let sent = null;
  try {
    if (real && otlp) {
      sent = makeFlows(Date.now(), Date.now() % 0xffffffff);
      await fillCollector({ otlp, query: real, model: sent });
    }
    const r = await runBrowserTests({ base: real, otlp, sent, only });
    process.exit(r.failures ? 1 : 0);
  } catch (e) {
    console.error(`✗ ${e.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
