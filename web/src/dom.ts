// A tiny DOM builder: h('div', {class: 'x', onclick: fn}, child, 'text').
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v as EventListener);
      } else if (k === 'class') {
        el.className = String(v);
      } else if (k === 'html') {
        el.innerHTML = String(v);
      } else if (k === 'value' && 'value' in el) {
        (el as HTMLInputElement).value = String(v);
      } else if (k === 'style' && typeof v === 'object') {
        Object.assign(el.style, v);
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function notice(kind: 'info' | 'warn' | 'error', text: string, testid?: string): HTMLElement {
  return h('div', { class: `notice notice-${kind}`, 'data-testid': testid }, text);
}

/** Marks a performance point for the benchmark, then another once the frame is painted. */
export function markRendered(name: string): void {
  performance.mark(`${name}-rendered`);
  requestAnimationFrame(() => setTimeout(() => performance.mark(`${name}-painted`), 0));
}

/**
 * Fills `el` with `count` items of HTML: the first `first` at once (what the first paint
 * shows), the rest in chunks on later tasks so long lists never block the first frame.
 * Returns a cancel function; a new render of the same element must cancel the old one.
 */
export function renderProgressive(el: HTMLElement, count: number, item: (i: number) => string, first = 150, chunk = 600): () => void {
  let cancelled = false;
  const take = (from: number, n: number) => {
    const parts: string[] = [];
    for (let i = from; i < Math.min(count, from + n); i++) parts.push(item(i));
    return parts.join('');
  };
  el.innerHTML = take(0, first);
  let next = first;
  const step = () => {
    if (cancelled || next >= count) return;
    el.insertAdjacentHTML('beforeend', take(next, chunk));
    next += chunk;
    if (next < count) setTimeout(step, 0);
    else el.dispatchEvent(new CustomEvent('rendered-all'));
  };
  // The rest starts once the first frame is on screen.
  if (next < count) requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(step, 0)));
  return () => {
    cancelled = true;
  };
}
