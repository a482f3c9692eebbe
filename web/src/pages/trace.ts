// /trace/{id}: header, minimap, waterfall with critical path, span details, the trace's
// logs, statistics and JSON.
import { fetchTrace, fetchTraceLogs } from '../api';
import { h, markRendered, notice, renderProgressive } from '../dom';
import { escapeHtml, formatDuration, formatTime, serviceColor } from '../format';
import { normalizeLogs, type TraceLog } from '../logs';
import { buildTrace, criticalPath, spanMatches, statsByOperation, statsByService, tagValue, type CriticalSegment, type Span, type Trace } from '../model';
import type { KeyValue } from '../types';

type Tab = 'timeline' | 'stats' | 'logs' | 'json';

export function tracePage(root: HTMLElement, url: URL): () => void {
  const id = decodeURIComponent(url.pathname.slice('/trace/'.length)).replace(/\/+$/, '');
  root.append(h('div', { class: 'loading' }, `Loading trace ${id}…`));
  let alive = true;
  // null: the server has no logs endpoint (plain Jaeger); an Error: it failed (a bad maxLogs, say).
  const logsP = fetchTraceLogs(id, url.searchParams.get('maxLogs')).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  fetchTrace(id, url.searchParams.get('maxSpans'))
    .then(async (raw) => {
      if (!alive) return;
      performance.mark('trace-fetched');
      const trace = buildTrace(raw);
      const view = new TraceView(root, trace, url.hash.startsWith('#span-') ? url.hash.slice(6) : null);
      view.render();
      markRendered('trace');
      const logs = await logsP;
      // The same page with every log record (the collector's log limit lifted).
      const all = new URL(url.href);
      all.searchParams.set('maxLogs', '0');
      if (!alive) return;
      if (logs instanceof Error) view.setLogs(null, [], '', logs.message);
      else view.setLogs(logs === null ? null : normalizeLogs(logs.records), logs?.warnings ?? [], `${all.pathname}${all.search}`);
    })
    .catch((e) => {
      if (!alive) return;
      root.replaceChildren(h('div', { class: 'page' }, notice('error', `Cannot load trace ${id}: ${(e as Error).message}`, 'trace-error'),
        h('p', null, h('a', { href: '/search' }, 'Back to search'))));
    });
  return () => {
    alive = false;
  };
}

function fmtValue(v: KeyValue['value']): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function kvTable(rows: [string, string][], testid?: string): string {
  if (!rows.length) return '<div class="muted">none</div>';
  return `<table class="kv"${testid ? ` data-testid="${testid}"` : ''}>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

class TraceView {
  private tab: Tab = 'timeline';
  private collapsed = new Set<string>();
  private expanded = new Set<string>();
  private showCp = true;
  private cp: Map<string, CriticalSegment[]>;
  private logs: TraceLog[] | null | undefined = undefined; // undefined = loading, null = not served
  private logsBySpan = new Map<string, TraceLog[]>();
  private v0 = 0; // view window, fractions of the trace
  private v1 = 1;
  private rowsEl!: HTMLElement;
  private body!: HTMLElement;
  private tabs!: HTMLElement;
  private logsNote!: HTMLElement;
  private logsWarnings: string[] = [];
  private allLogsHref = '';
  private query = '';
  private matches: string[] = [];
  private matchSet = new Set<string>();
  private matchIdx = -1;
  private findCount: HTMLElement | undefined;
  private rulerEl!: HTMLElement;

  constructor(private root: HTMLElement, private trace: Trace, focus: string | null) {
    this.cp = new Map();
    for (const seg of criticalPath(trace)) {
      const l = this.cp.get(seg.spanID);
      if (l) l.push(seg);
      else this.cp.set(seg.spanID, [seg]);
    }
    if (focus && trace.byId.has(focus)) this.expanded.add(focus);
  }

  render(): void {
    const t = this.trace;
    const root = t.roots[0];
    const title = root ? `${root.service}: ${root.operationName}` : t.traceID;
    document.title = `${title} (${t.traceID.slice(0, 7)}) · flowex`;
    const dl = h('a', { class: 'btn', download: `trace-${t.traceID}.json`, href: '#', 'data-testid': 'download-json', onclick: (ev: Event) => this.download(ev) }, 'Download JSON');
    this.logsNote = h('span', { class: 'muted logs-note' });
    const header = h('div', { class: 'trace-header', 'data-testid': 'trace-header' },
      h('div', { class: 'th-title' },
        h('h2', null, title, ' ', h('span', { class: 'trace-id', 'data-testid': 'trace-id' }, t.traceID)),
        h('span', { class: 'spacer' }),
        h('a', { class: 'btn', href: `/compare/${t.traceID}...`, 'data-testid': 'compare', title: 'Compare this trace with another' }, 'Compare…'), ' ', dl),
      h('div', { class: 'th-meta' },
        meta('Trace start', formatTime(t.start), 'start'),
        meta('Duration', formatDuration(t.duration), 'duration'),
        meta('Services', String(t.services.length), 'services'),
        meta('Depth', String(t.depth), 'depth'),
        meta('Total spans', String(t.spans.length), 'spans'),
        meta('Errors', String(t.errorCount), 'errors', t.errorCount > 0),
        this.logsNote),
      h('div', { class: 'th-services', 'data-testid': 'trace-services' }, t.services.map((s) =>
        h('span', { class: 'svc-chip', style: { borderColor: serviceColor(s) } }, h('i', { style: { background: serviceColor(s) } }), s))));
    // Jaeger's trace warnings; flowex's collector warns when a huge trace was cut to its span
    // limit, and the link asks for every span.
    const warnings = (t.raw.warnings ?? []).map((w) => {
      const n = notice('warn', w, 'trace-warning');
      if (w.includes('maxSpans=')) {
        n.append(' ', h('a', { href: `/trace/${t.traceID}?maxSpans=0`, 'data-testid': 'all-spans' }, 'Show every span'));
      }
      return n;
    });
    this.tabs = h('div', { class: 'tabs', role: 'tablist' });
    this.body = h('div', { class: 'trace-body' });
    this.root.replaceChildren(h('div', { class: 'trace-page' }, header, ...warnings, this.tabs, this.body));
    this.renderTabs();
    this.renderBody();
  }

  setLogs(logs: TraceLog[] | null, warnings: string[] = [], allLogsHref = '', error = ''): void {
    this.logs = logs;
    this.logsWarnings = warnings;
    this.allLogsHref = allLogsHref;
    this.logsBySpan.clear();
    if (logs) {
      for (const l of logs) {
        const a = this.logsBySpan.get(l.spanID);
        if (a) a.push(l);
        else this.logsBySpan.set(l.spanID, [l]);
      }
      this.logsNote.textContent = `${logs.length} log record${logs.length === 1 ? '' : 's'}${warnings.length ? ' (more left out)' : ''}`;
      this.logsNote.setAttribute('data-testid', 'logs-count');
    } else if (error) {
      this.logsNote.textContent = `Cannot load the log records: ${error}`;
      this.logsNote.setAttribute('data-testid', 'logs-error');
    } else {
      this.logsNote.textContent = 'Log records are not available from this server.';
      this.logsNote.setAttribute('data-testid', 'logs-unavailable');
    }
    this.renderTabs();
    if (this.tab === 'timeline' && (logs === null ? this.expanded.size > 0 : logs.length > 0)) this.drawRows();
  }

  private renderTabs(): void {
    const items: [Tab, string][] = [['timeline', 'Timeline'], ['stats', 'Statistics']];
    if (this.logs) items.push(['logs', `Logs (${this.logs.length})`]);
    items.push(['json', 'JSON']);
    this.tabs.replaceChildren(...items.map(([k, label]) => h('button', {
      class: k === this.tab ? 'tab active' : 'tab', role: 'tab', 'data-testid': `tab-${k}`,
      onclick: () => { this.tab = k; this.renderTabs(); this.renderBody(); },
    }, label)));
  }

  private renderBody(): void {
    if (this.tab === 'timeline') this.renderTimeline();
    else if (this.tab === 'stats') this.renderStats();
    else if (this.tab === 'logs') this.renderLogs();
    else this.renderJson();
  }

  // ---------- timeline ----------
  private renderTimeline(): void {
    const cpToggle = h('input', { type: 'checkbox', 'data-testid': 'cp-toggle' });
    cpToggle.checked = this.showCp;
    cpToggle.addEventListener('change', () => { this.showCp = cpToggle.checked; this.drawRows(); });
    const reset = h('button', { class: 'btn small', onclick: () => { this.v0 = 0; this.v1 = 1; this.drawMinimapWindow(); this.drawRuler(); this.drawRows(); } }, 'Reset zoom');
    const expandAll = h('button', { class: 'btn small', onclick: () => { this.collapsed.clear(); this.drawRows(); } }, 'Expand all');
    const collapseAll = h('button', { class: 'btn small', onclick: () => { for (const s of this.trace.spans) if (s.children.length && s.depth >= 1) this.collapsed.add(s.spanID); this.drawRows(); } }, 'Collapse');
    const legend = h('span', { class: 'legend' }, h('i', { class: 'cp-swatch' }), 'critical path');
    // Find: spans whose service, operation, ID or an attribute (key=value) hold every word;
    // Enter (or ▾/▴) goes from one to the next, opening the tree down to it.
    const findIn = h('input', { type: 'search', class: 'span-find', placeholder: 'Find spans: service, operation, key=value', value: this.query, 'data-testid': 'span-find', 'aria-label': 'Find spans', spellcheck: 'false' });
    this.findCount = h('span', { class: 'muted find-count', 'data-testid': 'find-count' });
    findIn.addEventListener('input', () => this.find(findIn.value));
    findIn.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') { ev.preventDefault(); this.nextMatch(ev.shiftKey ? -1 : 1); }
    });
    const prev = h('button', { class: 'btn small', type: 'button', title: 'Previous match', 'data-testid': 'find-prev', onclick: () => this.nextMatch(-1) }, '▴');
    const next = h('button', { class: 'btn small', type: 'button', title: 'Next match', 'data-testid': 'find-next', onclick: () => this.nextMatch(1) }, '▾');
    const toolbar = h('div', { class: 'tl-toolbar' }, h('label', { class: 'inline' }, cpToggle, ' Critical path'), legend, h('span', { class: 'spacer' }), findIn, prev, next, this.findCount, expandAll, collapseAll, reset);
    this.updateFindCount();
    const minimap = this.minimap();
    this.rulerEl = h('div', { class: 'ruler', 'data-testid': 'ruler' });
    this.rowsEl = h('div', { class: 'rows', 'data-testid': 'timeline' });
    this.rowsEl.addEventListener('click', (ev) => this.onRowsClick(ev));
    this.body.replaceChildren(toolbar, minimap, h('div', { class: 'tl-head' }, h('div', { class: 'tl-name-head' }, 'Service & Operation'), this.rulerEl), this.rowsEl);
    this.drawRuler();
    this.drawRows();
  }

  private minimapWin!: HTMLElement;
  private minimapSel!: HTMLElement;

  /** All spans drawn on a canvas (cheap for thousands); drag across it to zoom the timeline. */
  private minimap(): HTMLElement {
    const t = this.trace;
    const n = t.spans.length;
    const H = Math.min(60, Math.max(24, n * 3));
    const W = 1200;
    const canvas = h('canvas', { width: String(W), height: String(H), style: { height: `${H}px` } });
    const ctx = canvas.getContext('2d');
    if (ctx) {
      const rowH = H / Math.max(1, n);
      const dur = t.duration || 1;
      for (let i = 0; i < n; i++) {
        const s = t.spans[i];
        ctx.fillStyle = s.isError ? '#d62728' : serviceColor(s.service);
        ctx.fillRect(((s.start - t.start) / dur) * W, i * rowH, Math.max(1, (s.duration / dur) * W), Math.max(0.6, rowH * 0.8));
      }
    }
    this.minimapWin = h('div', { class: 'mm-win' });
    this.minimapSel = h('div', { class: 'mm-sel' });
    const wrap = h('div', { class: 'minimap', 'data-testid': 'minimap', 'data-spans': String(n), title: 'Drag to zoom' }, canvas, this.minimapWin, this.minimapSel);
    let dragFrom: number | null = null;
    const frac = (ev: MouseEvent) => {
      const r = wrap.getBoundingClientRect();
      return Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    };
    wrap.addEventListener('mousedown', (ev) => { dragFrom = frac(ev); ev.preventDefault(); });
    wrap.addEventListener('mousemove', (ev) => {
      if (dragFrom === null) return;
      const f = frac(ev);
      this.minimapSel.style.left = `${Math.min(f, dragFrom) * 100}%`;
      this.minimapSel.style.width = `${Math.abs(f - dragFrom) * 100}%`;
    });
    const end = (ev: MouseEvent) => {
      if (dragFrom === null) return;
      const f = frac(ev);
      const a = Math.min(f, dragFrom);
      const b = Math.max(f, dragFrom);
      dragFrom = null;
      this.minimapSel.style.width = '0';
      if (b - a > 0.005) {
        this.v0 = a;
        this.v1 = b;
        this.drawMinimapWindow();
        this.drawRuler();
        this.drawRows();
      }
    };
    wrap.addEventListener('mouseup', end);
    wrap.addEventListener('mouseleave', (ev) => { if (dragFrom !== null) end(ev); });
    this.drawMinimapWindow();
    return wrap;
  }

  private drawMinimapWindow(): void {
    this.minimapWin.style.left = `${this.v0 * 100}%`;
    this.minimapWin.style.width = `${(this.v1 - this.v0) * 100}%`;
  }
  private drawRuler(): void {
    const t = this.trace;
    const ticks = 5;
    let html = '';
    for (let i = 0; i <= ticks; i++) {
      const f = i / ticks;
      const us = (this.v0 + (this.v1 - this.v0) * f) * t.duration;
      html += `<span class="tick" style="left:${(f * 100).toFixed(2)}%"><span>${formatDuration(us)}</span></span>`;
    }
    this.rulerEl.innerHTML = html;
  }

  private visibleSpans(): Span[] {
    const out: Span[] = [];
    const spans = this.trace.spans;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      out.push(s);
      if (this.collapsed.has(s.spanID)) {
        // skip the subtree: depth-first order keeps descendants contiguous
        let j = i + 1;
        while (j < spans.length && spans[j].depth > s.depth) j++;
        i = j - 1;
      }
    }
    return out;
  }

  private pos(t: number): number {
    const f = (t - this.trace.start) / (this.trace.duration || 1);
    return ((f - this.v0) / (this.v1 - this.v0)) * 100;
  }

  private descendants(s: Span): number {
    let n = 0;
    const stack = [...s.children];
    while (stack.length) {
      const c = stack.pop()!;
      n++;
      stack.push(...c.children);
    }
    return n;
  }

  private cancelRows: () => void = () => {};

  private drawRows(): void {
    if (!this.rowsEl || this.tab !== 'timeline') return;
    this.cancelRows();
    const spans = this.visibleSpans();
    this.cancelRows = renderProgressive(this.rowsEl, spans.length, (i) => this.rowHtml(spans[i]), 80, 500);
  }

  private rowHtml(s: Span): string {
    const collapsed = this.collapsed.has(s.spanID);
    const color = serviceColor(s.service);
    const left = this.pos(s.start);
    const right = this.pos(s.end);
    const l = Math.max(0, Math.min(100, left));
    const w = Math.max(0.15, Math.min(100, right) - l);
    const onCp = this.showCp && this.cp.has(s.spanID);
    let cpHtml = '';
    if (onCp) {
      for (const seg of this.cp.get(s.spanID)!) {
        const a = Math.max(0, this.pos(seg.start));
        const b = Math.min(100, this.pos(seg.end));
        if (b > a) cpHtml += `<div class="cp" style="left:${a.toFixed(3)}%;width:${Math.max(0.1, b - a).toFixed(3)}%"></div>`;
      }
    }
    const logs = this.logsBySpan.get(s.spanID);
    let marks = '';
    for (const lg of s.raw.logs ?? []) marks += `<div class="evt" style="left:${this.pos(lg.timestamp).toFixed(3)}%"></div>`;
    if (logs) for (const lg of logs) marks += `<div class="logmark sev-${escapeHtml(lg.severity)}" style="left:${this.pos(lg.time).toFixed(3)}%"></div>`;
    const toggle = s.children.length
      ? `<span class="toggle" data-toggle="${s.spanID}" title="${collapsed ? 'Expand' : 'Collapse'}">${collapsed ? '▸' : '▾'}</span>`
      : '<span class="toggle leaf"></span>';
    const hidden = collapsed ? `<span class="hidden-count">+${this.descendants(s)}</span>` : '';
    const logBadge = logs ? `<span class="log-badge" title="log records">${logs.length} log${logs.length === 1 ? '' : 's'}</span>` : '';
    const durLabel = `<span class="dur-label" style="${right > 80 ? `right:${(100 - l + 0.5).toFixed(2)}%` : `left:${(Math.min(100, right) + 0.5).toFixed(2)}%`}">${formatDuration(s.duration)}</span>`;
    const found = this.query ? (this.matchSet.has(s.spanID) ? (this.matches[this.matchIdx] === s.spanID ? ' match current' : ' match') : ' dim') : '';
    const row = `<div class="row${s.isError ? ' is-error' : ''}${onCp ? ' on-cp' : ''}${this.expanded.has(s.spanID) ? ' open' : ''}${found}" data-span-id="${s.spanID}" data-testid="span-row">`
      + `<div class="name" style="padding-left:${Math.min(s.depth, 40) * 14 + 4}px">${toggle}<span class="svc-stripe" style="background:${color}"></span>`
      + `<span class="svc">${escapeHtml(s.service)}</span> <span class="op" data-testid="span-op">${escapeHtml(s.operationName)}</span>`
      + (s.isError ? '<span class="err-icon" title="error">!</span>' : '') + hidden + logBadge + '</div>'
      + `<div class="bars"><div class="bar" style="left:${l.toFixed(3)}%;width:${w.toFixed(3)}%;background:${color}"></div>${cpHtml}${marks}${durLabel}</div></div>`;
    return this.expanded.has(s.spanID) ? row + this.detailHtml(s) : row;
  }

  private onRowsClick(ev: MouseEvent): void {
    const target = ev.target as HTMLElement;
    const tog = target.closest<HTMLElement>('[data-toggle]');
    if (tog) {
      const id = tog.dataset.toggle!;
      if (this.collapsed.has(id)) this.collapsed.delete(id);
      else this.collapsed.add(id);
      this.drawRows();
      return;
    }
    const jump = target.closest<HTMLElement>('[data-jump]');
    if (jump) {
      ev.preventDefault();
      this.focusSpan(jump.dataset.jump!);
      return;
    }
    if (target.closest('.detail')) return;
    const row = target.closest<HTMLElement>('.row');
    if (!row) return;
    const id = row.dataset.spanId!;
    if (this.expanded.has(id)) this.expanded.delete(id);
    else this.expanded.add(id);
    this.drawRows();
  }

  private find(query: string): void {
    this.query = query.trim();
    this.matches = this.query ? this.trace.spans.filter((sp) => spanMatches(sp, this.query)).map((sp) => sp.spanID) : [];
    this.matchSet = new Set(this.matches);
    this.matchIdx = -1;
    this.updateFindCount();
    this.drawRows();
  }

  private nextMatch(step: number): void {
    if (!this.matches.length) return;
    const n = this.matches.length;
    this.matchIdx = this.matchIdx < 0 ? (step > 0 ? 0 : n - 1) : (this.matchIdx + step + n) % n;
    const s = this.trace.byId.get(this.matches[this.matchIdx])!;
    for (let p = s.parent; p; p = p.parent) this.collapsed.delete(p.spanID);
    this.updateFindCount();
    this.drawRows();
    this.rowsEl.querySelector(`[data-span-id="${CSS.escape(s.spanID)}"]`)?.scrollIntoView({ block: 'center' });
  }

  private updateFindCount(): void {
    if (!this.findCount) return;
    const n = this.matches.length;
    this.findCount.textContent = !this.query ? '' : n === 0 ? 'no match' : this.matchIdx < 0 ? `${n} match${n === 1 ? '' : 'es'}` : `${this.matchIdx + 1} of ${n}`;
  }

  private focusSpan(id: string): void {
    const s = this.trace.byId.get(id);
    if (!s) return;
    for (let p = s.parent; p; p = p.parent) this.collapsed.delete(p.spanID);
    this.expanded.add(id);
    if (this.tab !== 'timeline') {
      this.tab = 'timeline';
      this.renderTabs();
      this.renderTimeline();
    } else {
      this.drawRows();
    }
    this.rowsEl.querySelector(`[data-span-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: 'center' });
  }

  private detailHtml(s: Span): string {
    const t = this.trace;
    const status = tagValue(s.tags, 'otel.status_code');
    const statusMsg = tagValue(s.tags, 'otel.status_description') ?? tagValue(s.tags, 'error.type');
    const statusStr = status !== undefined ? String(status) : s.isError ? 'ERROR' : 'UNSET';
    const attrs: [string, string][] = s.tags.map((kv) => [kv.key, fmtValue(kv.value)]);
    const proc: [string, string][] = [['service.name', s.service], ...(s.process.tags ?? []).map((kv) => [kv.key, fmtValue(kv.value)] as [string, string])];
    const events = (s.raw.logs ?? []).map((lg) => {
      const name = lg.fields.find((f) => f.key === 'event')?.value;
      const rest = lg.fields.filter((f) => f.key !== 'event').map((f) => [f.key, fmtValue(f.value)] as [string, string]);
      return `<div class="event"><div class="ev-head"><b>${escapeHtml(name ?? 'log')}</b> <span class="muted">+${formatDuration(lg.timestamp - t.start)}</span></div>${kvTable(rest)}</div>`;
    }).join('') || '<div class="muted">none</div>';
    const refs = (s.raw.references ?? []).map((r) => {
      const target = t.byId.get(r.spanID);
      const label = target ? `${target.service}: ${target.operationName}` : r.spanID;
      return `<tr><th>${escapeHtml(r.refType)}</th><td>${target ? `<a href="#span-${escapeHtml(r.spanID)}" data-jump="${escapeHtml(r.spanID)}">${escapeHtml(label)}</a>` : escapeHtml(label)} <span class="muted">${escapeHtml(r.traceID === t.traceID ? '' : `trace ${r.traceID}`)}</span></td></tr>`;
    }).join('');
    const children = s.children.map((c) => `<a href="#span-${escapeHtml(c.spanID)}" data-jump="${escapeHtml(c.spanID)}">${escapeHtml(c.service)}: ${escapeHtml(c.operationName)}</a>`).join(', ');
    const logs = this.logsBySpan.get(s.spanID);
    const logsHtml = this.logs === null
      ? '<div class="muted">not available from this server</div>'
      : logs?.length ? logsTableHtml(logs, t.start, false) : '<div class="muted">none</div>';
    const cpSelf = (this.cp.get(s.spanID) ?? []).reduce((a, g) => a + g.end - g.start, 0);
    const ids: [string, string][] = [
      ['trace id', s.traceID], ['span id', s.spanID], ['parent span id', s.parent?.spanID ?? '(root)'],
      ['span kind', s.kind || 'unspecified'], ['start', `${formatTime(s.start)} (+${formatDuration(s.start - t.start)})`],
      ['duration', formatDuration(s.duration)], ['self time', formatDuration(s.selfTime)],
      ['on critical path', cpSelf ? formatDuration(cpSelf) : 'no'],
    ];
    return `<div class="detail" data-testid="span-detail" data-detail-for="${s.spanID}">`
      + `<div class="detail-title"><b>${escapeHtml(s.operationName)}</b> <span class="muted">${escapeHtml(s.service)}</span>`
      + `<span class="status status-${escapeHtml(statusStr)}" data-testid="span-status">${escapeHtml(statusStr)}${statusMsg !== undefined ? `: ${escapeHtml(statusMsg)}` : ''}</span></div>`
      + `<div class="detail-grid">`
      + `<section><h4>Attributes</h4>${kvTable(attrs, 'span-attributes')}</section>`
      + `<section><h4>Resource (process)</h4>${kvTable(proc, 'span-process')}</section>`
      + `<section><h4>Events</h4>${events}</section>`
      + `<section><h4>Logs</h4><div data-testid="span-logs">${logsHtml}</div></section>`
      + `<section><h4>Links &amp; references</h4>${refs ? `<table class="kv">${refs}</table>` : '<div class="muted">none (root span)</div>'}${children ? `<div class="children">children: ${children}</div>` : ''}</section>`
      + `<section><h4>Identifiers</h4>${kvTable(ids, 'span-ids')}</section>`
      + `</div></div>`;
  }

  // ---------- statistics ----------
  private renderStats(): void {
    const t = this.trace;
    const total = t.duration || 1;
    const bySvc = statsByService(t);
    const byOp = statsByOperation(t);
    const svcRows = bySvc.map((s) => `<tr><td><i class="dot-svc" style="background:${serviceColor(s.service)}"></i>${escapeHtml(s.service)}</td><td class="num">${s.spans}</td><td class="num">${formatDuration(s.self)}</td><td class="num">${((s.self / total) * 100).toFixed(1)}%</td><td class="num${s.errors ? ' err' : ''}">${s.errors}</td></tr>`).join('');
    const opRows = byOp.map((o) => `<tr><td><i class="dot-svc" style="background:${serviceColor(o.service)}"></i>${escapeHtml(o.service)}</td><td>${escapeHtml(o.operation)}</td><td class="num">${o.count}</td><td class="num">${formatDuration(o.total)}</td><td class="num">${formatDuration(o.total / o.count)}</td><td class="num">${formatDuration(o.min)}</td><td class="num">${formatDuration(o.max)}</td><td class="num">${formatDuration(o.self)}</td><td class="num">${((o.self / total) * 100).toFixed(1)}%</td><td class="num${o.errors ? ' err' : ''}">${o.errors}</td></tr>`).join('');
    const el = h('div', { class: 'stats', 'data-testid': 'stats' });
    el.innerHTML = `<h3>By service</h3><table class="grid" data-testid="stats-services"><thead><tr><th>Service</th><th>Spans</th><th>Self time</th><th>% of trace</th><th>Errors</th></tr></thead><tbody>${svcRows}</tbody></table>`
      + `<h3>By operation</h3><table class="grid" data-testid="stats-operations"><thead><tr><th>Service</th><th>Operation</th><th>Count</th><th>Total</th><th>Avg</th><th>Min</th><th>Max</th><th>Self time</th><th>Self %</th><th>Errors</th></tr></thead><tbody>${opRows}</tbody></table>`
      + `<p class="muted">Self time is a span's duration not covered by its children; the percentages are of the trace's duration (${formatDuration(t.duration)}).</p>`;
    this.body.replaceChildren(el);
  }

  // ---------- logs ----------
  private renderLogs(): void {
    const el = h('div', { class: 'trace-logs', 'data-testid': 'trace-logs' });
    if (!this.logs) {
      this.body.replaceChildren(notice('info', 'Log records are not available from this server.', 'logs-unavailable'));
      return;
    }
    el.innerHTML = this.logs.length ? logsTableHtml(this.logs, this.trace.start, true, this.trace) : '<div class="muted">This trace has no log records.</div>';
    // flowex's collector warns when a trace's logs were cut to its log limit; the link asks for all.
    const warnings = this.logsWarnings.map((w) => {
      const n = notice('warn', w, 'logs-warning');
      if (w.includes('maxLogs=') && this.allLogsHref) {
        n.append(' ', h('a', { href: this.allLogsHref, 'data-testid': 'all-logs' }, 'Show every log record'));
      }
      return n;
    });
    el.addEventListener('click', (ev) => {
      const jump = (ev.target as HTMLElement).closest<HTMLElement>('[data-jump]');
      if (jump) {
        ev.preventDefault();
        this.focusSpan(jump.dataset.jump!);
      }
    });
    this.body.replaceChildren(...warnings, el);
  }

  // ---------- JSON ----------
  private renderJson(): void {
    const pre = h('pre', { class: 'json', 'data-testid': 'trace-json' });
    pre.textContent = JSON.stringify(this.trace.raw, null, 2);
    this.body.replaceChildren(h('div', { class: 'tl-toolbar' }, h('span', { class: 'muted' }, 'The trace as the Jaeger API returns it.'), h('span', { class: 'spacer' }),
      h('a', { class: 'btn', href: '#', download: `trace-${this.trace.traceID}.json`, onclick: (ev: Event) => this.download(ev) }, 'Download JSON')), pre);
  }

  private download(ev: Event): void {
    const a = ev.currentTarget as HTMLAnchorElement;
    const blob = new Blob([JSON.stringify({ data: [this.trace.raw] }, null, 2)], { type: 'application/json' });
    const old = a.getAttribute('data-url');
    if (old) URL.revokeObjectURL(old);
    const u = URL.createObjectURL(blob);
    a.href = u;
    a.setAttribute('data-url', u);
  }
}

function meta(label: string, value: string, key: string, bad = false): HTMLElement {
  return h('span', { class: `meta${bad ? ' bad' : ''}` }, h('span', { class: 'meta-label' }, label), ' ', h('b', { 'data-testid': `meta-${key}` }, value));
}

function logsTableHtml(logs: TraceLog[], t0: number, withSpan: boolean, trace?: Trace): string {
  return `<table class="logs">${logs.map((l) => {
    const span = withSpan && trace ? trace.byId.get(l.spanID) : undefined;
    const attrs = l.attributes.map(([k, v]) => `<span class="la"><i>${escapeHtml(k)}</i>=${escapeHtml(v)}</span>`).join(' ');
    return `<tr class="log sev-${escapeHtml(l.severity)}" data-testid="log-record"><td class="muted">+${formatDuration(l.time - t0)}</td><td><span class="sev">${escapeHtml(l.severity)}</span></td>`
      + (withSpan ? `<td><i class="dot-svc" style="background:${serviceColor(l.service)}"></i>${escapeHtml(l.service)}</td><td>${span ? `<a href="#span-${escapeHtml(l.spanID)}" data-jump="${escapeHtml(l.spanID)}">${escapeHtml(span.operationName)}</a>` : `<span class="muted">${escapeHtml(l.spanID || '–')}</span>`}</td>` : '')
      + `<td class="body">${escapeHtml(l.body)} ${attrs}</td></tr>`;
  }).join('')}</table>`;
}
