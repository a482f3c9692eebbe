import './style.css';
import { startRouter, type Page } from './router';
import { h } from './dom';
import { searchPage } from './pages/search';
import { tracePage } from './pages/trace';
import { comparePage } from './pages/compare';
import { mapPage } from './pages/map';
import { monitorPage } from './pages/monitor';
import { livePage } from './pages/live';

const NAV: { path: string; label: string }[] = [
  { path: '/search', label: 'Search' },
  { path: '/map', label: 'Service map' },
  { path: '/monitor', label: 'Monitor' },
  { path: '/live', label: 'Live' },
];

function notFound(root: HTMLElement, url: URL): void {
  root.append(h('div', { class: 'page' }, h('h2', null, 'Not found'), h('p', null, `No page at ${url.pathname}. `, h('a', { href: '/search' }, 'Search traces'))));
}

function resolve(url: URL): Page {
  const p = url.pathname.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/search') return searchPage;
  // Jaeger's comparison address is /trace/{a}...{b}.
  if ((p.startsWith('/trace/') && p.includes('...')) || p === '/compare' || p.startsWith('/compare/')) return comparePage;
  if (p.startsWith('/trace/')) return tracePage;
  if (p === '/map' || p === '/dependencies') return mapPage;
  if (p === '/monitor') return monitorPage;
  if (p === '/live') return livePage;
  return notFound;
}

function topbar(el: HTMLElement): (url: URL) => void {
  const links = NAV.map((n) => h('a', { href: n.path, 'data-nav': n.path }, n.label));
  const idInput = h('input', { type: 'search', placeholder: 'Lookup by trace ID…', 'aria-label': 'Trace ID', class: 'trace-lookup' });
  const form = h('form', {
    class: 'lookup',
    onsubmit: (ev: Event) => {
      ev.preventDefault();
      const id = idInput.value.trim().toLowerCase();
      if (/^[0-9a-f]{1,32}$/.test(id)) {
        idInput.value = '';
        const a = h('a', { href: `/trace/${id}` });
        document.body.append(a);
        a.click();
        a.remove();
      }
    },
  }, idInput);
  el.append(h('a', { href: '/search', class: 'brand' }, 'flowex ', h('span', null, 'traces')), h('nav', null, links), form);
  return (url: URL) => {
    const nav = NAV.find((n) => n.path === url.pathname);
    document.title = url.pathname.startsWith('/trace/') ? `Trace ${url.pathname.slice(7, 14)} · flowex` : `${nav?.label ?? 'Search'} · flowex traces`;
    for (const a of links) {
      const path = a.getAttribute('data-nav')!;
      a.classList.toggle('active', url.pathname === path || (path === '/search' && (url.pathname === '/' || url.pathname.startsWith('/trace/'))));
    }
  };
}

const onRoute = topbar(document.getElementById('topbar')!);
startRouter(document.getElementById('app')!, resolve, onRoute);
