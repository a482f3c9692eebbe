// A small HTTP server for the UI's browser tests and benchmark: serves web/dist (index.html
// for every non-/api path, as the collector does) and answers the Jaeger v1 query API from
// a fixture model, plus the flowex extras unless `extras: false` (then they are 404, as on
// plain Jaeger). Binds 127.0.0.1 on a free port.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JaegerEmulator, envelope } from '../fixtures/jaeger.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DIST = path.resolve(here, '../../dist');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };

/** Jaeger v1 endpoints (what the UI may call for what Jaeger has) and the three flowex extras. */
export const JAEGER_ENDPOINTS = [
  /^\/api\/services$/, /^\/api\/services\/[^/]+\/operations$/, /^\/api\/operations$/, /^\/api\/traces$/,
  /^\/api\/traces\/[0-9a-f]+$/, /^\/api\/dependencies$/, /^\/api\/metrics\/(latencies|calls|errors)$/,
];
export const FLOWEX_EXTRAS = [/^\/api\/traces\/[0-9a-f]+\/logs$/, /^\/api\/live$/, /^\/api\/trace-summaries$/];

export async function startServer({ model, distDir = DEFAULT_DIST, extras = true, port = 0, liveSpacingMs = 40 } = {}) {
  const jaeger = new JaegerEmulator(model);
  const requests = [];
  const send = (res, status, body, raw) => {
    const text = raw ?? JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
    res.end(text);
  };
  const notFound = (res) => send(res, 404, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: '404 page not found' }] });
  const timers = new Set();

  const api = (req, res, url) => {
    const p = url.pathname;
    const q = url.searchParams;
    let m;
    if (p === '/api/services') return send(res, 200, envelope(jaeger.services()));
    if ((m = /^\/api\/services\/([^/]+)\/operations$/.exec(p))) return send(res, 200, envelope(jaeger.operations(decodeURIComponent(m[1])).map((o) => o.name).filter((v, i, a) => a.indexOf(v) === i)));
    if (p === '/api/operations') return send(res, 200, envelope(jaeger.operations(q.get('service') ?? '', q.get('spanKind') ?? '')));
    if (p === '/api/traces') { const r = jaeger.search(q); return send(res, r.status, r.body, r.raw); }
    if ((m = /^\/api\/traces\/([0-9a-f]+)$/.exec(p))) { const r = jaeger.trace(m[1], extras ? Number(q.get('maxSpans') || 0) : 0); return send(res, r.status, r.body, r.raw); }
    if (p === '/api/dependencies') return send(res, 200, envelope(jaeger.dependencies(Number(q.get('endTs') || Date.now()), Number(q.get('lookback') || 86_400_000))));
    if ((m = /^\/api\/metrics\/(latencies|calls|errors)$/.exec(p))) { const r = jaeger.metrics(m[1], q); return send(res, r.status, r.body); }
    if (extras && (m = /^\/api\/traces\/([0-9a-f]+)\/logs$/.exec(p))) { const r = jaeger.logs(m[1], q.get('maxLogs')); return send(res, r.status, r.body); }
    if (extras && p === '/api/trace-summaries') { const r = jaeger.summaries(q); return send(res, r.status, r.body); }
    if (extras && p === '/api/live') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      res.write(': flowex live tail\n\n');
      const list = model.traces.slice().sort((a, b) => a.spans[0].startUs - b.spans[0].startUs);
      let i = 0;
      const t = setInterval(() => {
        if (i >= list.length) { res.write(': keepalive\n\n'); return; }
        res.write(`event: trace\ndata: ${JSON.stringify(jaeger.liveSummary(list[i++]))}\n\n`);
      }, liveSpacingMs);
      timers.add(t);
      req.on('close', () => { clearInterval(t); timers.delete(t); });
      return undefined;
    }
    return notFound(res);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname.startsWith('/api/')) {
      requests.push({ method: req.method, path: url.pathname, query: url.search });
      if (req.method !== 'GET') return send(res, 405, { errors: [{ code: 405, msg: 'method not allowed' }] });
      try {
        return api(req, res, url);
      } catch (e) {
        return send(res, 500, { data: null, errors: [{ code: 500, msg: String(e) }] });
      }
    }
    let file = path.join(distDir, path.normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, ''));
    if (!file.startsWith(distDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      if (url.pathname.startsWith('/assets/')) { res.writeHead(404); return res.end('not found'); }
      file = path.join(distDir, 'index.html');
    }
    fs.readFile(file, (err, buf) => {
      if (err) { res.writeHead(500); return res.end(String(err)); }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': buf.length });
      res.end(buf);
    });
    return undefined;
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () => new Promise((resolve) => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

// `node tests/browser/server.mjs [--no-extras]`: a demo server over the fixtures, for looking at the UI by hand.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { makeFlows } = await import('../fixtures/flows.mjs');
  const s = await startServer({ model: makeFlows(), extras: !process.argv.includes('--no-extras'), port: Number(process.env.PORT || 0) });
  console.log(`listening on ${s.url.replace('http://', '')}`);
}
