// /trace/{a}...{b} (Jaeger's address for it) and /compare: two traces' spans merged by path,
// each path's count and mean duration in A and in B, what only one of them did coloured.
import { fetchTrace } from '../api';
import { compareTraces, type CompareRow, type PathStats } from '../compare';
import { h, markRendered, notice } from '../dom';
import { escapeHtml, formatDuration, serviceColor } from '../format';
import { buildTrace, type Trace } from '../model';
import { navigate } from '../router';

const ID = /^[0-9a-f]{1,32}$/;

/** The two ids of a comparison address, '' where one is missing. */
export function compareIds(url: URL): [string, string] {
  const p = url.pathname.replace(/\/+$/, '');
  const pair = p.startsWith('/trace/') ? p.slice('/trace/'.length) : p.startsWith('/compare/') ? p.slice('/compare/'.length) : '';
  const [a = '', b = ''] = decodeURIComponent(pair).split('...');
  return [a.trim().toLowerCase(), b.trim().toLowerCase()];
}

export function comparePage(root: HTMLElement, url: URL): () => void {
  const [a, b] = compareIds(url);
  document.title = a && b ? `Compare ${a.slice(0, 7)} … ${b.slice(0, 7)} · flowex` : 'Compare traces · flowex';
  const inA = h('input', { name: 'a', value: a, placeholder: 'trace ID', 'data-testid': 'cmp-input-a', spellcheck: 'false' });
  const inB = h('input', { name: 'b', value: b, placeholder: 'trace ID', 'data-testid': 'cmp-input-b', spellcheck: 'false' });
  const form = h('form', {
    class: 'compare-form', 'data-testid': 'cmp-form',
    onsubmit: (ev: Event) => {
      ev.preventDefault();
      navigate(`/trace/${encodeURIComponent(inA.value.trim().toLowerCase())}...${encodeURIComponent(inB.value.trim().toLowerCase())}`);
    },
  }, h('label', null, 'Trace A', inA), h('label', null, 'Trace B', inB), h('button', { type: 'submit', class: 'primary', 'data-testid': 'cmp-submit' }, 'Compare'));
  const body = h('div', { class: 'compare-body' });
  root.append(h('div', { class: 'page compare-page' }, h('h2', null, 'Compare traces'), form, body));
  if (!a || !b) {
    body.append(notice('info', 'Two trace IDs: what the second did that the first did not is green, the reverse red.', 'cmp-hint'));
    return () => {};
  }
  const bad = [a, b].filter((id) => !ID.test(id));
  if (bad.length) {
    body.append(notice('error', `Not a trace ID: ${bad.join(', ')} (up to 32 hex digits)`, 'cmp-error'));
    return () => {};
  }
  let alive = true;
  body.append(h('div', { class: 'loading' }, 'Loading both traces…'));
  Promise.all([fetchTrace(a), fetchTrace(b)])
    .then(([ra, rb]) => {
      if (!alive) return;
      render(body, buildTrace(ra), buildTrace(rb));
      markRendered('compare');
    })
    .catch((e) => {
      if (alive) body.replaceChildren(notice('error', `Cannot load the traces: ${(e as Error).message}`, 'cmp-error'));
    });
  return () => {
    alive = false;
  };
}

function side(label: string, t: Trace, testid: string): HTMLElement {
  const root = t.roots[0];
  return h('div', { class: 'cmp-side', 'data-testid': testid },
    h('b', null, `${label} `), h('a', { href: `/trace/${t.traceID}` }, t.traceID.slice(0, 7)),
    ` ${root ? `${root.service}: ${root.operationName}` : ''} · ${t.spans.length} spans · ${formatDuration(t.duration)} · ${t.errorCount} errors`);
}

function cell(s: PathStats | null): string {
  if (!s) return '<td class="num">–</td><td class="num">–</td>';
  return `<td class="num">${s.count}${s.errors ? ` <span class="err">(${s.errors} ✗)</span>` : ''}</td><td class="num">${formatDuration(s.total / s.count)}</td>`;
}

function rowHtml(r: CompareRow): string {
  const delta = r.a && r.b ? r.b.total / r.b.count - r.a.total / r.a.count : null;
  const deltaText = delta === null ? '' : `${delta >= 0 ? '+' : '−'}${formatDuration(Math.abs(delta))}`;
  return `<tr class="cmp-${r.status}" data-testid="cmp-row" data-status="${r.status}" data-depth="${r.depth}">`
    + `<td class="cmp-name" style="padding-left:${8 + Math.min(r.depth, 40) * 16}px"><i class="dot-svc" style="background:${serviceColor(r.service)}"></i>`
    + `<span data-testid="cmp-op">${escapeHtml(r.service)}: ${escapeHtml(r.operation)}</span></td>`
    + cell(r.a) + cell(r.b) + `<td class="num">${deltaText}</td></tr>`;
}

function render(body: HTMLElement, a: Trace, b: Trace): void {
  const rows = compareTraces(a, b);
  const count = (s: CompareRow['status']) => rows.filter((r) => r.status === s).length;
  const table = h('table', { class: 'grid compare-table', 'data-testid': 'cmp-table' });
  table.innerHTML = '<thead><tr><th>Service: operation (by path from the root)</th><th class="num">A spans</th><th class="num">A mean</th>'
    + '<th class="num">B spans</th><th class="num">B mean</th><th class="num">B − A</th></tr></thead>'
    + `<tbody>${rows.map(rowHtml).join('')}</tbody>`;
  body.replaceChildren(
    h('div', { class: 'cmp-sides' }, side('A', a, 'cmp-a'), side('B', b, 'cmp-b')),
    h('p', { class: 'cmp-legend', 'data-testid': 'cmp-legend' },
      h('span', { class: 'cmp-only-a' }, `only in A: ${count('only-a')}`), ' ',
      h('span', { class: 'cmp-only-b' }, `only in B: ${count('only-b')}`), ' ',
      h('span', { class: 'cmp-changed' }, `different counts or errors: ${count('changed')}`), ' ',
      h('span', { class: 'muted' }, `the same: ${count('same')}`)),
    table);
}
