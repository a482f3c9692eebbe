// Client-side routes. The collector answers index.html for any non-/api path.
export type PageCleanup = (() => void) | void;
export type Page = (root: HTMLElement, url: URL) => PageCleanup | Promise<PageCleanup>;

let current: PageCleanup;
let renderFn: (url: URL) => void = () => {};

export function navigate(href: string, replace = false): void {
  const url = new URL(href, location.href);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  renderFn(url);
}

/** Updates the address bar without re-rendering (form state changes). */
export function setUrl(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
}

export function startRouter(root: HTMLElement, resolve: (url: URL) => Page, onRoute: (url: URL) => void): void {
  renderFn = (url: URL) => {
    if (typeof current === 'function') current();
    current = undefined;
    onRoute(url);
    root.replaceChildren();
    const page = resolve(url);
    const r = page(root, url);
    if (r instanceof Promise) r.then((c) => (current = c)).catch((e) => console.error(e));
    else current = r;
  };
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element).closest?.('a');
    if (!a || a.getAttribute('target') || a.hasAttribute('download')) return;
    const href = a.getAttribute('href');
    if (!href) return;
    const url = new URL(href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    ev.preventDefault();
    navigate(url.href);
  });
  window.addEventListener('popstate', () => renderFn(new URL(location.href)));
  renderFn(new URL(location.href));
}
