// /monitor: RED metrics per service and operation from Jaeger's SPM API.
import { ALL_SPAN_KINDS, fetchServices } from '../api';
import { h, notice } from '../dom';
import { escapeHtml, formatDuration, formatPercent, formatRate, serviceColor } from '../format';
import { health, loadRed, sparkline, type OpMetrics } from '../metrics';
import { setUrl } from '../router';

const LOOKBACKS = ['5m', '15m', '30m', '1h', '2h', '6h', '12h', '1d', '2d', '7d'];
const KINDS = ['server', 'client', 'internal', 'producer', 'consumer', 'all'];
type SortKey = 'service' | 'operation' | 'p50' | 'p95' | 'p99' | 'errors' | 'calls';

export function lookbackMs(lb: string): number {
  const m = /^(\d+)([mhd])$/.exec(lb);
  if (!m) return 3600_000;
  return parseInt(m[1], 10) * { m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

function val(r: OpMetrics, k: SortKey): number | string {
  if (k === 'service') return r.service;
  if (k === 'operation') return r.operation;
  const s = r[k];
  return s && Number.isFinite(s.avg) ? s.avg : -1;
}

export function monitorPage(root: HTMLElement, url: URL): () => void {
  const p = url.searchParams;
  const st = {
    service: p.get('service') ?? '',
    lookback: LOOKBACKS.includes(p.get('lookback') ?? '') ? p.get('lookback')! : '1h',
    spanKind: KINDS.includes(p.get('spanKind') ?? '') ? p.get('spanKind')! : 'server',
    sort: (p.get('sort') as SortKey) || 'p95',
    desc: p.get('dir') !== 'asc',
  };
  let rows: OpMetrics[] = [];
  let alive = true;
  const svcSel = h('select', { 'data-testid': 'monitor-service' }, h('option', { value: '' }, 'All services'));
  const lbSel = h('select', { 'data-testid': 'monitor-lookback' }, LOOKBACKS.map((l) => h('option', { value: l }, `Last ${l}`)));
  lbSel.value = st.lookback;
  const kindSel = h('select', { 'data-testid': 'monitor-kind' }, KINDS.map((k) => h('option', { value: k }, k === 'all' ? 'all span kinds' : `${k} spans`)));
  kindSel.value = st.spanKind;
  const out = h('div', { class: 'monitor-out', 'data-testid': 'monitor' });
  const msg = h('div');
  root.append(h('div', { class: 'page monitor-page' },
    h('div', { class: 'page-head' }, h('h2', null, 'Monitor'), h('span', { class: 'muted' }, 'Latency percentiles, error rate and request rate per operation, from span-derived metrics.')),
    h('div', { class: 'toolbar' }, h('label', { class: 'inline' }, 'Service ', svcSel), h('label', { class: 'inline' }, 'Lookback ', lbSel), h('label', { class: 'inline' }, 'Kind ', kindSel)),
    msg, out));

  const pushUrl = () => {
    const q = new URLSearchParams();
    if (st.service) q.set('service', st.service);
    q.set('lookback', st.lookback);
    if (st.spanKind !== 'server') q.set('spanKind', st.spanKind);
    if (st.sort !== 'p95') q.set('sort', st.sort);
    if (!st.desc) q.set('dir', 'asc');
    setUrl(`/monitor?${q}`, true);
  };

  const draw = () => {
    const sorted = rows.slice().sort((a, b) => {
      const x = val(a, st.sort);
      const y = val(b, st.sort);
      const c = typeof x === 'string' ? x.localeCompare(String(y)) : (x as number) - (y as number);
      return (st.desc ? -c : c) || a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation);
    });
    const cols: [SortKey, string][] = [['service', 'Service'], ['operation', 'Operation'], ['p50', 'P50'], ['p95', 'P95'], ['p99', 'P99'], ['errors', 'Error %'], ['calls', 'Req/s']];
    const head = cols.map(([k, l]) => `<th data-sort="${k}" class="sortable${st.sort === k ? (st.desc ? ' desc' : ' asc') : ''}">${l}</th>`).join('');
    const lat = (s: OpMetrics['p50']) => (s && Number.isFinite(s.avg) ? formatDuration(s.avg * 1000) : '–');
    const body = sorted.map((r) => {
      const hl = health(r.errors?.avg ?? NaN, r.p95?.avg ?? NaN);
      const search = `/search?service=${encodeURIComponent(r.service)}&operation=${encodeURIComponent(r.operation)}&lookback=${st.lookback}&limit=20`;
      return `<tr class="health-${hl}" data-testid="monitor-row" data-service="${escapeHtml(r.service)}" data-operation="${escapeHtml(r.operation)}">`
        + `<td><i class="dot-svc" style="background:${serviceColor(r.service)}"></i>${escapeHtml(r.service)}</td>`
        + `<td><a href="${escapeHtml(search)}" title="Find traces">${escapeHtml(r.operation || '(all)')}</a></td>`
        + `<td class="num" data-col="p50">${lat(r.p50)}</td>`
        + `<td class="num" data-col="p95"><span class="cell-spark">${sparkline(r.p95?.points ?? [], 'lat')}<b>${lat(r.p95)}</b></span></td>`
        + `<td class="num" data-col="p99">${lat(r.p99)}</td>`
        + `<td class="num" data-col="errors"><span class="cell-spark">${sparkline(r.errors?.points ?? [], 'err')}<b>${r.errors ? formatPercent(r.errors.avg) : '–'}</b></span></td>`
        + `<td class="num" data-col="calls"><span class="cell-spark">${sparkline(r.calls?.points ?? [], 'rate')}<b>${r.calls ? formatRate(r.calls.avg) : '–'}</b></span></td></tr>`;
    }).join('');
    out.innerHTML = rows.length ? `<table class="grid monitor-table"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` : '';
    if (!rows.length) out.replaceChildren(notice('info', 'No metrics for this selection yet.', 'monitor-empty'));
  };
  out.addEventListener('click', (ev) => {
    const th = (ev.target as HTMLElement).closest<HTMLElement>('th[data-sort]');
    if (!th) return;
    const k = th.dataset.sort as SortKey;
    if (st.sort === k) st.desc = !st.desc;
    else { st.sort = k; st.desc = k !== 'service' && k !== 'operation'; }
    pushUrl();
    draw();
  });

  let services: string[] = [];
  const load = async () => {
    out.replaceChildren(h('div', { class: 'loading' }, 'Loading metrics…'));
    msg.replaceChildren();
    const list = st.service ? [st.service] : services;
    const lb = lookbackMs(st.lookback);
    const base = { groupByOperation: true, endTsMs: Date.now(), lookbackMs: lb, stepMs: Math.max(10_000, Math.floor(lb / 30)), ratePerMs: 600_000, spanKind: st.spanKind === 'all' ? ALL_SPAN_KINDS : st.spanKind };
    const res = await Promise.all(list.map((s) => loadRed(s, base)));
    if (!alive) return;
    rows = res.flatMap((r) => r.rows).filter((r) => r.p95 || r.calls || r.errors);
    const failed = res.reduce((a, r) => a + r.failed, 0);
    if (failed && failed === res.length * 5) msg.replaceChildren(notice('warn', 'This server does not answer /api/metrics (Jaeger needs a metrics backend for the Monitor tab).', 'monitor-unavailable'));
    else if (failed) msg.replaceChildren(notice('warn', `${failed} metric queries failed; some columns are empty.`));
    draw();
  };

  (async () => {
    try {
      services = await fetchServices();
    } catch (e) {
      msg.replaceChildren(notice('error', `Cannot load services: ${(e as Error).message}`));
      return;
    }
    svcSel.append(...services.map((s) => h('option', { value: s }, s)));
    if (st.service && !services.includes(st.service)) svcSel.append(h('option', { value: st.service }, st.service));
    svcSel.value = st.service;
    await load();
  })();
  const onChange = () => {
    st.service = svcSel.value;
    st.lookback = lbSel.value;
    st.spanKind = kindSel.value;
    pushUrl();
    void load();
  };
  svcSel.addEventListener('change', onChange);
  lbSel.addEventListener('change', onChange);
  kindSel.addEventListener('change', onChange);
  return () => { alive = false; };
}
