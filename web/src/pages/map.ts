// /map: the service dependency graph from Jaeger's /api/dependencies, with RED figures
// per service from /api/metrics where the server has them; a node opens its operations.
import { fetchDependencies, fetchServices } from '../api';
import { h, notice } from '../dom';
import { escapeHtml, formatDuration, formatPercent, formatRate, serviceColor } from '../format';
import { layoutGraph } from '../graph';
import { health, loadRed, type OpMetrics } from '../metrics';
import { navigate, setUrl } from '../router';
import { lookbackMs } from './monitor';

const LOOKBACKS = ['15m', '1h', '6h', '1d', '2d', '7d'];
const NW = 180;
const NH = 58;

export function mapPage(root: HTMLElement, url: URL): () => void {
  let alive = true;
  let lookback = url.searchParams.get('lookback') ?? '1h';
  if (!LOOKBACKS.includes(lookback)) lookback = '1h';
  const lbSel = h('select', { 'data-testid': 'map-lookback' }, LOOKBACKS.map((l) => h('option', { value: l }, `Last ${l}`)));
  lbSel.value = lookback;
  const out = h('div', { class: 'map-out' });
  root.append(h('div', { class: 'page map-page' },
    h('div', { class: 'page-head' }, h('h2', null, 'Service map'), h('span', { class: 'muted' }, 'Who calls whom, how often, and how healthy each service is. Click a service to see its operations.')),
    h('div', { class: 'toolbar' }, h('label', { class: 'inline' }, 'Lookback ', lbSel),
      h('span', { class: 'legend' }, h('i', { class: 'hl hl-ok' }), 'healthy', h('i', { class: 'hl hl-warn' }), 'P95 > 500 ms or errors > 1%', h('i', { class: 'hl hl-bad' }), 'P95 > 1 s or errors > 5%', h('i', { class: 'hl hl-unknown' }), 'no metrics')),
    out));
  lbSel.addEventListener('change', () => {
    lookback = lbSel.value;
    setUrl(`/map?lookback=${lookback}`, true);
    void load();
  });

  const load = async () => {
    out.replaceChildren(h('div', { class: 'loading' }, 'Loading dependencies…'));
    const lb = lookbackMs(lookback);
    let links;
    let services: string[] = [];
    try {
      [links, services] = await Promise.all([fetchDependencies(Date.now(), lb), fetchServices().catch(() => [] as string[])]);
    } catch (e) {
      out.replaceChildren(notice('error', `Cannot load dependencies: ${(e as Error).message}`, 'map-error'));
      return;
    }
    if (!alive) return;
    if (!links.length) {
      out.replaceChildren(notice('info', 'No dependencies in this window yet: send some traffic (./trace_demo.sh) or widen the lookback.', 'map-empty'));
      return;
    }
    const nodeIds = new Set<string>();
    for (const l of links) { nodeIds.add(l.parent); nodeIds.add(l.child); }
    const red = new Map<string, OpMetrics>();
    const base = { groupByOperation: false, endTsMs: Date.now(), lookbackMs: lb, stepMs: Math.max(10_000, Math.floor(lb / 30)), ratePerMs: 600_000, spanKind: 'server' };
    await Promise.all([...nodeIds].filter((s) => services.includes(s)).map(async (s) => {
      const r = await loadRed(s, base);
      const row = r.rows.find((x) => x.service === s) ?? r.rows[0];
      if (row) red.set(s, row);
    }));
    if (!alive) return;
    out.replaceChildren(drawGraph(links, red), edgeTable(links));
  };
  void load();
  return () => { alive = false; };
}

function drawGraph(links: { parent: string; child: string; callCount: number }[], red: Map<string, OpMetrics>): HTMLElement {
  const { nodes, width, height } = layoutGraph(links);
  const inCalls = new Map<string, number>();
  for (const l of links) inCalls.set(l.child, (inCalls.get(l.child) ?? 0) + l.callCount);
  let edges = '';
  for (const l of links) {
    const a = nodes.get(l.parent)!;
    const b = nodes.get(l.child)!;
    const x1 = a.x + NW;
    const y1 = a.y + NH / 2;
    const x2 = b.x;
    const y2 = b.y + NH / 2;
    let d: string;
    let lx: number;
    let ly: number;
    if (b.layer > a.layer) {
      const mx = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 6},${y2}`;
      lx = mx;
      ly = (y1 + y2) / 2 - 4;
    } else {
      // back edge (cycle or same layer): loop below
      const yb = Math.max(a.y, b.y) + NH + 30;
      d = `M${a.x + NW / 2},${a.y + NH} C${a.x + NW / 2},${yb} ${b.x + NW / 2},${yb} ${b.x + NW / 2},${b.y + NH + 6}`;
      lx = (a.x + b.x + NW) / 2;
      ly = yb - 6;
    }
    edges += `<g class="edge" data-testid="map-edge" data-parent="${escapeHtml(l.parent)}" data-child="${escapeHtml(l.child)}"><path d="${d}" marker-end="url(#arrow)"/><text x="${lx}" y="${ly}" text-anchor="middle">${l.callCount}</text><title>${escapeHtml(l.parent)} → ${escapeHtml(l.child)}: ${l.callCount} calls</title></g>`;
  }
  let nodesSvg = '';
  for (const n of nodes.values()) {
    const m = red.get(n.id);
    const p95 = m?.p95?.avg ?? NaN;
    const err = m?.errors?.avg ?? NaN;
    const hl = m ? health(err, p95) : 'unknown';
    const line2 = m
      ? `P95 ${Number.isFinite(p95) ? formatDuration(p95 * 1000) : '–'} · err ${Number.isFinite(err) ? formatPercent(err) : '–'}`
      : `${inCalls.get(n.id) ?? 0} calls in`;
    const line3 = m?.calls ? `${formatRate(m.calls.avg)}` : '';
    nodesSvg += `<g class="node health-${hl}" data-testid="map-node" data-node="${escapeHtml(n.id)}" transform="translate(${n.x},${n.y})" tabindex="0" role="link">`
      + `<rect width="${NW}" height="${NH}" rx="8"/><rect class="stripe" width="6" height="${NH}" rx="3" fill="${serviceColor(n.id)}"/>`
      + `<text x="14" y="20" class="n-name">${escapeHtml(n.id)}</text><text x="14" y="37" class="n-sub">${escapeHtml(line2)}</text><text x="14" y="51" class="n-sub">${escapeHtml(line3)}</text>`
      + `<title>${escapeHtml(n.id)}: open its operations</title></g>`;
  }
  const wrap = h('div', { class: 'map-graph', 'data-testid': 'service-map' });
  wrap.innerHTML = `<svg width="${width}" height="${height + 40}" viewBox="0 0 ${width} ${height + 40}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>${edges}${nodesSvg}</svg>`;
  const open = (el: Element | null) => {
    const g = el?.closest<SVGGElement>('[data-node]');
    if (g) navigate(`/monitor?service=${encodeURIComponent(g.dataset.node!)}&spanKind=all`);
  };
  wrap.addEventListener('click', (ev) => open(ev.target as Element));
  wrap.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(ev.target as Element); });
  return wrap;
}

function edgeTable(links: { parent: string; child: string; callCount: number }[]): HTMLElement {
  const t = h('table', { class: 'grid edges', 'data-testid': 'map-edges' });
  t.innerHTML = `<thead><tr><th>Caller</th><th></th><th>Callee</th><th>Calls</th></tr></thead><tbody>${links.slice().sort((a, b) => b.callCount - a.callCount).map((l) =>
    `<tr><td>${escapeHtml(l.parent)}</td><td>→</td><td>${escapeHtml(l.child)}</td><td class="num">${l.callCount}</td></tr>`).join('')}</tbody>`;
  return h('details', { class: 'edge-list' }, h('summary', null, `${links.length} edges`), t);
}
