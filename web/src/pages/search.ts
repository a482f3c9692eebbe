// /search: Jaeger's Find Traces, with the form's state in the URL.
import {ApiError, fetchMetrics, fetchOperations, fetchServices, searchTraceSummaries} from '../api';
import {h, markRendered, notice, renderProgressive} from '../dom';
import {escapeHtml, formatDuration, formatTime, serviceColor, timeAgo} from '../format';
import {LogfmtError, parseLogfmt} from '../logfmt';

import type {TraceSummary} from '../model';
import { navigate, setUrl } from '../router';
import {
  LOOKBACKS, SORTS, defaultState, lookbackToUs, stateFromParams, stateToApiQuery, stateToParams,
  type SearchState, type SortOrder,
} from '../urlstate';

export function sortSummaries(list: TraceSummary[], order: SortOrder): TraceSummary[] {
  const l = list.slice();
  const cmp: Record<SortOrder, (a: TraceSummary, b: TraceSummary) => number> = {
    recent: (a, b) => b.start - a.start,
    longest: (a, b) => b.duration - a.duration,
    shortest: (a, b) => a.duration - b.duration,
    spans: (a, b) => b.spanCount - a.spanCount || b.start - a.start,
    errors: (a, b) => b.errorCount - a.errorCount || b.start - a.start,
  };
  return l.sort(cmp[order]);
}

function toLocalInput(us: number | null): string {
  if (us === null) return '';
  const d = new Date(us / 1000 - new Date(us / 1000).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}
function fromLocalInput(v: string): number | null {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? t * 1000 : null;
}

export function searchPage(root: HTMLElement, url: URL): () => void {
  const state: SearchState = { ...defaultState(), ...stateFromParams(url.searchParams) };
  let aborter: AbortController | null = null;
  let summaries: TraceSummary[] = [];

  const serviceSel = h('select', { name: 'service', 'data-testid': 'service' });
  const opSel = h('select', { name: 'operation', 'data-testid': 'operation' });
  const tagsIn = h('input', { name: 'tags', type: 'text', placeholder: 'error=true user_id=11', value: state.tags, 'data-testid': 'tags', spellcheck: 'false' });
  const tagsHint = h('div', { class: 'hint' }, 'logfmt: ', h('code', null, 'error=true http.status_code=500 symbol=AAPL'));
  const lookSel = h('select', { name: 'lookback', 'data-testid': 'lookback' }, LOOKBACKS.map((l) => h('option', { value: l.value }, l.label)));
  lookSel.value = state.lookback;
  const startIn = h('input', { type: 'datetime-local', name: 'start', value: toLocalInput(state.start) });
  const endIn = h('input', { type: 'datetime-local', name: 'end', value: toLocalInput(state.end) });
  const customBox = h('div', { class: 'custom-range' }, h('label', null, 'From', startIn), h('label', null, 'To', endIn));
  const minIn = h('input', { name: 'minDuration', placeholder: 'e.g. 100ms', value: state.minDuration, 'data-testid': 'minDuration' });
  const maxIn = h('input', { name: 'maxDuration', placeholder: 'e.g. 1.2s', value: state.maxDuration, 'data-testid': 'maxDuration' });
  const limitIn = h('input', { name: 'limit', type: 'number', min: '1', max: '1500', value: String(state.limit), 'data-testid': 'limit' });
  const formMsg = h('div', { class: 'form-msg' });
  const findBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'find' }, 'Find Traces');
  const showCustom = () => (customBox.style.display = lookSel.value === 'custom' ? '' : 'none');
  lookSel.addEventListener('change', () => {
    if (lookSel.value === 'custom' && !startIn.value) {
      const now = Date.now() * 1000;
      startIn.value = toLocalInput(now - 3600e6);
      endIn.value = toLocalInput(now);
    }
    showCustom();
  });
  showCustom();

  const results = h('section', { class: 'results', 'data-testid': 'results' });
  const form = h('form', { class: 'search-form', 'data-testid': 'search-form', onsubmit: (ev: Event) => { ev.preventDefault(); submit(); } },
    h('h3', null, 'Search'),
    h('label', null, 'Service', serviceSel),
    h('label', null, 'Operation', opSel),
    h('label', null, 'Tags', tagsIn), tagsHint,
    h('label', null, 'Lookback', lookSel), customBox,
    h('div', { class: 'row2' }, h('label', null, 'Min duration', minIn), h('label', null, 'Max duration', maxIn)),
    h('label', null, 'Limit results', limitIn),
    findBtn, formMsg);
  root.append(h('div', { class: 'search-page' }, form, results));

  const setOps = async (service: string, selected: string) => {
    opSel.replaceChildren(h('option', { value: '' }, 'all'));
    if (!service) return;
    try {
      const ops = await fetchOperations(service);
      opSel.append(...ops.map((o) => h('option', { value: o }, o)));
    } catch {
      /* operations are optional for a search */
    }
    if (selected && ![...opSel.options].some((o) => o.value === selected)) opSel.append(h('option', { value: selected }, selected));
    opSel.value = selected;
  };
  serviceSel.addEventListener('change', () => void setOps(serviceSel.value, ''));

  const readForm = (): SearchState | null => {
    formMsg.textContent = '';
    try {
      parseLogfmt(tagsIn.value);
    } catch (e) {
      formMsg.textContent = e instanceof LogfmtError ? `Tags: ${e.message}` : String(e);
      return null;
    }
    const s: SearchState = {
      ...state,
      service: serviceSel.value,
      operation: opSel.value,
      tags: tagsIn.value.trim(),
      lookback: lookSel.value,
      start: lookSel.value === 'custom' ? fromLocalInput(startIn.value) : null,
      end: lookSel.value === 'custom' ? fromLocalInput(endIn.value) : null,
      minDuration: minIn.value.trim(),
      maxDuration: maxIn.value.trim(),
      limit: Math.max(1, Math.min(1500, parseInt(limitIn.value, 10) || 20)),
    };
    if (s.lookback === 'custom' && (s.start === null || s.end === null || s.end <= s.start)) {
      formMsg.textContent = 'Custom range: choose a start before the end.';
      return null;
    }
    if (!s.service) {
      formMsg.textContent = 'Choose a service.';
      return null;
    }
    return s;
  };

  const submit = () => {
    const s = readForm();
    if (!s) return;
    Object.assign(state, s);
    setUrl(`/search?${stateToParams(state)}`);
    void run();
  };

  const run = async () => {
    aborter?.abort();
    aborter = new AbortController();
    let query: URLSearchParams;
    try {
      query = stateToApiQuery(state, Date.now() * 1000);
    } catch (e) {
      formMsg.textContent = (e as Error).message;
      return;
    }
    results.replaceChildren(h('div', { class: 'loading' }, 'Searching…'));
    findBtn.disabled = true;
    try {
        const r = await searchTraceSummaries(query, aborter.signal);
        performance.mark('search-fetched');
        summaries = r.data;
        renderResults(r.errors?.map((e) => e.msg) ?? []);
        markRendered('search');
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      results.replaceChildren(notice('error', `Search failed: ${(e as Error).message}`, 'search-error'));
    } finally {
      findBtn.disabled = false;
    }
  };

  const renderResults = (warnings: string[]) => {
    const sortSel = h('select', { 'data-testid': 'sort', 'aria-label': 'Sort' }, SORTS.map((x) => h('option', { value: x.value }, x.label)));
    sortSel.value = state.sort;
    const list = h('div', { class: 'result-list', 'data-testid': 'result-list' });
    // Two results ticked: "Compare" opens /trace/{a}...{b}, in the order they were ticked.
    const selected: string[] = [];
    const compareBtn = h('button', { type: 'button', class: 'btn small', 'data-testid': 'compare-selected', disabled: true,
      onclick: () => { if (selected.length === 2) navigate(`/trace/${selected[0]}...${selected[1]}`); } }, 'Compare');
    const updateCompare = () => {
      compareBtn.disabled = selected.length !== 2;
      compareBtn.textContent = selected.length === 2 ? 'Compare the two' : `Compare (tick two: ${selected.length})`;
    };
    updateCompare();
    list.addEventListener('change', (ev) => {
      const box = (ev.target as HTMLElement).closest<HTMLInputElement>('input[data-select]');
      if (!box) return;
      const id = box.dataset.select!;
      const at = selected.indexOf(id);
      if (box.checked && at < 0) selected.push(id);
      if (!box.checked && at >= 0) selected.splice(at, 1);
      updateCompare();
    });
    let cancel = () => {};
    const maxDur = summaries.reduce((m, x) => Math.max(m, x.duration), 1);
    const now = Date.now();
    const draw = () => {
      cancel();
      const sorted = sortSummaries(summaries, state.sort);
      cancel = renderProgressive(list, sorted.length, (i) => resultHtml(sorted[i], maxDur, now, selected.includes(sorted[i].traceID)), 20, 150);
    };
    sortSel.addEventListener('change', () => {
      state.sort = sortSel.value as SortOrder;
      setUrl(`/search?${stateToParams(state)}`, true);
      draw();
    });
    draw();
    const errs = summaries.filter((s) => s.errorCount > 0).length;
    results.replaceChildren(
      ...warnings.map((w) => notice('warn', w)),
      scatterPlot(summaries),
      h('div', { class: 'results-head' },
        h('strong', { 'data-testid': 'result-count' }, `${summaries.length} Trace${summaries.length === 1 ? '' : 's'}`),
        errs ? h('span', { class: 'err-badge' }, `${errs} with errors`) : null,
        h('span', { class: 'spacer' }),
        summaries.length > 1 ? compareBtn : null,
        h('label', { class: 'inline' }, 'Sort ', sortSel)),
      summaries.length ? list : notice('info', 'No trace matches. Widen the lookback, or remove a tag.', 'no-results'));
  };

  // Start: load services (with call counts when the server has SPM metrics), then search if a service is set.
  (async () => {
    try {
      const services = await fetchServices();
      serviceSel.replaceChildren(h('option', { value: '' }, services.length ? 'Select a service' : 'No services yet'),
        ...services.map((s) => h('option', { value: s }, s)));
      if (state.service && !services.includes(state.service)) serviceSel.append(h('option', { value: state.service }, state.service));
      serviceSel.value = state.service;
      void serviceCounts(services, state.lookback, serviceSel);
    } catch (e) {
      results.replaceChildren(notice('error', `Cannot load services: ${(e as Error).message}`, 'search-error'));
      if (e instanceof ApiError) return;
    }
    void setOps(state.service, state.operation); // the search does not wait for the operations list
    if (state.service) void run();
    else results.replaceChildren(notice('info', 'Pick a service (client-gateway is where orders enter) and press Find Traces.'));
  })();

  return () => aborter?.abort();
}

async function serviceCounts(services: string[], lookback: string, sel: HTMLSelectElement): Promise<void> {
  if (!services.length) return;
  const lbMs = (Number.isFinite(lookbackToUs(lookback)) ? lookbackToUs(lookback) : 3600e6) / 1000;
  const stepMs = Math.max(60_000, Math.floor(lbMs / 60));
  try {
    const results = await Promise.all(services.map((s) => fetchMetrics('calls', {
      // ratePer = step: each call falls in exactly one point, so rate × step summed is the count
      services: [s], groupByOperation: false, endTsMs: Date.now(), lookbackMs: lbMs, stepMs, ratePerMs: stepMs, spanKind: 'server',
    }).then((f) => ({ s, f })).catch(() => null)));
    for (const r of results) {
      if (!r) continue;
      let n = 0;
      for (const m of r.f.metrics) for (const p of m.metricPoints) n += (p.gaugeValue?.doubleValue ?? 0) * (stepMs / 1000);
      const opt = [...sel.options].find((o) => o.value === r.s);
      if (opt && n > 0) opt.textContent = `${r.s} (${Math.round(n)})`;
    }
  } catch {
    /* counts are a nicety */
  }
}

function resultHtml(s: TraceSummary, maxDur: number, now: number, ticked: boolean): string {
  const pct = Math.max(0.5, (s.duration / maxDur) * 100);
  const svc = s.services.map((x) =>
    `<span class="svc-chip${x.errors ? ' has-err' : ''}" style="border-color:${serviceColor(x.name)}"><i style="background:${serviceColor(x.name)}"></i>${escapeHtml(x.name)} (${x.count})</span>`).join('');
  return `<div class="result-row"><label class="r-select" title="Tick two traces to compare them"><input type="checkbox" data-select="${escapeHtml(s.traceID)}" data-testid="result-select"${ticked ? ' checked' : ''}></label>`
    + `<a class="result${s.errorCount ? ' is-error' : ''}" href="/trace/${escapeHtml(s.traceID)}" data-testid="result" data-trace-id="${escapeHtml(s.traceID)}">`
    + `<div class="result-title"><span class="r-name"><b>${escapeHtml(s.rootService)}:</b> ${escapeHtml(s.rootOperation)}</span> <span class="r-id">${escapeHtml(s.traceID.slice(0, 7))}</span><span class="r-dur">${formatDuration(s.duration)}</span></div>`
    + `<div class="r-bar"><div style="width:${pct.toFixed(2)}%"></div></div>`
    + `<div class="result-body"><span class="r-spans">${s.spanCount} Span${s.spanCount === 1 ? '' : 's'}</span>`
    + (s.errorCount ? `<span class="r-errors">${s.errorCount} Error${s.errorCount === 1 ? '' : 's'}</span>` : '')
    + `<span class="r-svcs">${svc}</span><span class="r-time" title="${formatTime(s.start)}">${formatTime(s.start).slice(0, 19)} · ${timeAgo(s.start, now)}</span></div></a></div>`;
}

/** Duration over time: one dot per trace, red when it has errors; a dot opens its trace. */
export function scatterPlot(list: TraceSummary[]): HTMLElement {
  const W = 900;
  const H = 160;
  const L = 56;
  const B = 22;
  const wrap = h('div', { class: 'scatter', 'data-testid': 'scatter' });
  if (!list.length) return wrap;
  let t0 = Infinity;
  let t1 = -Infinity;
  let dMax = 0;
  for (const s of list) {
    t0 = Math.min(t0, s.start);
    t1 = Math.max(t1, s.start);
    dMax = Math.max(dMax, s.duration);
  }
  // at least a minute across (µs), so the time labels are distinct however close the traces are
  if (t1 - t0 < 60e6) { const mid = (t0 + t1) / 2; t0 = mid - 30e6; t1 = mid + 30e6; }
  dMax = dMax || 1;
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - 12);
  const y = (d: number) => H - B - (d / dMax) * (H - B - 10);
  let svg = `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="Trace duration over time">`;
  for (let i = 0; i <= 3; i++) {
    const d = (dMax * i) / 3;
    svg += `<line x1="${L}" x2="${W - 8}" y1="${y(d)}" y2="${y(d)}" class="grid"/><text x="${L - 6}" y="${y(d) + 4}" text-anchor="end">${formatDuration(d)}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    svg += `<text x="${x(t)}" y="${H - 6}" text-anchor="${i === 4 ? 'end' : 'middle'}">${formatTime(t).slice(11, 19)}</text>`;
  }
  const maxSpans = Math.max(...list.map((s) => s.spanCount));
  for (const s of list) {
    const r = 3 + 5 * Math.sqrt(s.spanCount / Math.max(1, maxSpans));
    svg += `<a href="/trace/${escapeHtml(s.traceID)}"><circle cx="${x(s.start).toFixed(1)}" cy="${y(s.duration).toFixed(1)}" r="${r.toFixed(1)}" class="${s.errorCount ? 'dot err' : 'dot'}"><title>${escapeHtml(s.rootService)}: ${escapeHtml(s.rootOperation)} · ${formatDuration(s.duration)} · ${s.spanCount} spans</title></circle></a>`;
  }
  svg += '</svg>';
  wrap.innerHTML = svg;
  return wrap;
}
