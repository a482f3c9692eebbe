// /live: new traces as they arrive (SSE /api/live). Without that flowex extra (plain
// Jaeger), it says so and polls Jaeger's /api/traces instead.
import { fetchServices, searchTraces } from '../api';
import { h, notice } from '../dom';
import { escapeHtml, formatClock, formatDuration, serviceColor } from '../format';
import { liveSummary } from '../live';
import { summarize, type TraceSummary } from '../model';

const MAX_ROWS = 300;

export function livePage(root: HTMLElement): () => void {
  const seen = new Set<string>();
  let items: TraceSummary[] = [];
  let paused = false;
  let es: EventSource | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;
  let alive = true;
  const status = h('span', { class: 'live-status', 'data-testid': 'live-status' }, 'connecting…');
  const pauseBtn = h('button', { class: 'btn', 'data-testid': 'live-pause' }, 'Pause');
  const errOnly = h('input', { type: 'checkbox', 'data-testid': 'live-errors-only' });
  const filterIn = h('input', { type: 'search', placeholder: 'filter: service or operation', 'data-testid': 'live-filter' });
  const msg = h('div');
  const list = h('div', { class: 'live-list', 'data-testid': 'live-list' });
  const counter = h('span', { class: 'muted', 'data-testid': 'live-count' }, '0 traces');
  root.append(h('div', { class: 'page live-page' },
    h('div', { class: 'page-head' }, h('h2', null, 'Live tail'), status),
    h('div', { class: 'toolbar' }, pauseBtn, h('label', { class: 'inline' }, errOnly, ' errors only'), filterIn, h('span', { class: 'spacer' }), counter),
    msg, list));

  const draw = () => {
    const f = filterIn.value.trim().toLowerCase();
    const shown = items.filter((t) => (!errOnly.checked || t.errorCount > 0)
      && (!f || t.rootService.toLowerCase().includes(f) || t.rootOperation.toLowerCase().includes(f) || t.services.some((s) => s.name.toLowerCase().includes(f))));
    counter.textContent = `${items.length} trace${items.length === 1 ? '' : 's'}${shown.length !== items.length ? ` (${shown.length} shown)` : ''}`;
    list.innerHTML = shown.length ? shown.map((t) => {
      const svcs = t.services.map((s) => `<span class="svc-chip" style="border-color:${serviceColor(s.name)}"><i style="background:${serviceColor(s.name)}"></i>${escapeHtml(s.name)}</span>`).join('');
      return `<a class="live-row${t.errorCount ? ' is-error' : ''}" href="/trace/${escapeHtml(t.traceID)}" data-testid="live-row" data-trace-id="${escapeHtml(t.traceID)}">`
        + `<span class="lt-time">${formatClock(t.start)}</span>`
        + `<span class="lt-name"><b>${escapeHtml(t.rootService)}</b> ${escapeHtml(t.rootOperation)}</span>`
        + `<span class="lt-dur">${formatDuration(t.duration)}</span>`
        + `<span class="lt-spans">${t.spanCount ? `${t.spanCount} spans` : ''}</span>`
        + (t.errorCount ? `<span class="r-errors" data-testid="live-error">${t.errorCount} error${t.errorCount === 1 ? '' : 's'} · open trace</span>` : '<span></span>')
        + `<span class="lt-svcs">${svcs}</span></a>`;
    }).join('') : '<div class="muted empty">Waiting for traces…</div>';
  };
  const add = (batch: TraceSummary[]) => {
    let added = false;
    for (const t of batch) {
      if (seen.has(t.traceID)) continue;
      seen.add(t.traceID);
      items.push(t);
      added = true;
    }
    if (!added) return;
    items.sort((a, b) => b.start - a.start);
    if (items.length > MAX_ROWS) items = items.slice(0, MAX_ROWS);
    if (!paused) draw();
  };
  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) draw();
  });
  errOnly.addEventListener('change', draw);
  filterIn.addEventListener('input', draw);
  draw();

  // Fallback: poll Jaeger's search per service for traces newer than the last poll.
  const startPolling = async () => {
    let since = Date.now() * 1000 - 15 * 60e6;
    const tick = async () => {
      if (!alive || paused) return;
      const now = Date.now() * 1000;
      try {
        const services = await fetchServices();
        const res = await Promise.all(services.map((s) => searchTraces(new URLSearchParams({ service: s, start: String(Math.floor(since)), end: String(Math.floor(now)), limit: '20' })).catch(() => null)));
        if (!alive) return;
        for (const r of res) if (r) add(r.data.map(summarize));
        since = now - 5e6;
        status.textContent = `polling /api/traces · ${formatClock(now)}`;
      } catch (e) {
        status.textContent = `poll failed: ${(e as Error).message}`;
      }
    };
    await tick();
    poll = setInterval(() => void tick(), 5000);
  };

  try {
    es = new EventSource('/api/live');
    es.addEventListener('open', () => { status.textContent = 'live'; status.classList.add('on'); });
    const onData = (ev: MessageEvent) => {
      try {
        const obj = JSON.parse(ev.data);
        const arr = Array.isArray(obj) ? obj : [obj];
        add(arr.map((o) => liveSummary(o)).filter((x): x is TraceSummary => x !== null));
      } catch {
        /* ignore malformed events */
      }
    };
    es.addEventListener('trace', onData as EventListener);
    es.addEventListener('message', onData as EventListener);
    es.addEventListener('error', () => {
      if (!alive || !es) return;
      if (es.readyState === EventSource.CLOSED) {
        es = null;
        status.classList.remove('on');
        msg.replaceChildren(notice('warn', 'This server has no live stream (/api/live); showing new traces by polling the search API every 5 s instead.', 'live-unavailable'));
        void startPolling();
      } else {
        status.textContent = 'reconnecting…';
        status.classList.remove('on');
      }
    });
  } catch {
    void startPolling();
  }
  return () => {
    alive = false;
    es?.close();
    if (poll) clearInterval(poll);
  };
}
