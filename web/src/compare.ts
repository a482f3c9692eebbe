// Two traces side by side, as Jaeger's trace comparison: their spans merged by path (the chain
// of `service: operation` from the root), each path counted in A and in B, so that what one
// request did and the other did not (a settlement, a retry, a cache miss) stands out.
import type { Span, Trace } from './model';

export interface PathStats {
  count: number;
  total: number; // µs, summed over the path's spans
  errors: number;
}

export type CompareStatus = 'same' | 'changed' | 'only-a' | 'only-b';

export interface CompareRow {
  key: string;
  depth: number;
  service: string;
  operation: string;
  a: PathStats | null;
  b: PathStats | null;
  status: CompareStatus;
}

interface Node {
  key: string;
  service: string;
  operation: string;
  stats: PathStats;
  offset: number; // µs from the trace's start to the path's first span
  children: Map<string, Node>;
}

function node(key: string, s: Span, t: Trace): Node {
  return { key, service: s.service, operation: s.operationName, stats: { count: 0, total: 0, errors: 0 }, offset: s.start - t.start, children: new Map() };
}

// One trace's spans merged by path into a tree under a virtual root.
function pathTree(t: Trace): Node {
  const root: Node = { key: '', service: '', operation: '', stats: { count: 0, total: 0, errors: 0 }, offset: 0, children: new Map() };
  const walk = (s: Span, parent: Node): void => {
    const name = `${s.service}\u0000${s.operationName}`;
    const key = `${parent.key}\u0001${name}`;
    let n = parent.children.get(name);
    if (!n) {
      n = node(key, s, t);
      parent.children.set(name, n);
    }
    n.stats.count += 1;
    n.stats.total += s.duration;
    if (s.isError) n.stats.errors += 1;
    n.offset = Math.min(n.offset, s.start - t.start);
    for (const c of s.children) walk(c, n);
  };
  for (const r of t.roots) walk(r, root);
  return root;
}

function statusOf(a: PathStats | null, b: PathStats | null): CompareStatus {
  if (!a) return 'only-b';
  if (!b) return 'only-a';
  return a.count === b.count && a.errors === b.errors ? 'same' : 'changed';
}

/** The merged path tree of two traces, depth first, siblings in the order they first started. */
export function compareTraces(a: Trace, b: Trace): CompareRow[] {
  const rows: CompareRow[] = [];
  const merge = (na: Node | undefined, nb: Node | undefined, depth: number): void => {
    const names = new Set([...(na?.children.keys() ?? []), ...(nb?.children.keys() ?? [])]);
    const children = [...names].map((name) => ({ ca: na?.children.get(name), cb: nb?.children.get(name) }));
    children.sort((x, y) => Math.min(x.ca?.offset ?? Infinity, x.cb?.offset ?? Infinity) - Math.min(y.ca?.offset ?? Infinity, y.cb?.offset ?? Infinity));
    for (const { ca, cb } of children) {
      const any = (ca ?? cb)!;
      const sa = ca ? ca.stats : null;
      const sb = cb ? cb.stats : null;
      rows.push({ key: any.key, depth, service: any.service, operation: any.operation, a: sa, b: sb, status: statusOf(sa, sb) });
      merge(ca, cb, depth + 1);
    }
  };
  merge(pathTree(a), pathTree(b), 0);
  return rows;
}
