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
  depth: number;
  service: string;
  operation: string;
  a: PathStats | null;
  b: PathStats | null;
  status: CompareStatus;
}

interface Node {
  service: string;
  operation: string;
  stats: PathStats;
  offset: number; // µs from the trace's start to the path's first span
  children: Map<string, Node>;
}

function node(s: Span, t: Trace): Node {
  return { service: s.service, operation: s.operationName, stats: { count: 0, total: 0, errors: 0 }, offset: s.start - t.start, children: new Map() };
}

// One trace's spans merged by path into a tree under a virtual root. Iterative: a trace can be
// deeper than the call stack.
function pathTree(t: Trace): Node {
  const root: Node = { service: '', operation: '', stats: { count: 0, total: 0, errors: 0 }, offset: 0, children: new Map() };
  const stack: [Span, Node][] = t.roots.map((r) => [r, root]);
  while (stack.length) {
    const [s, parent] = stack.pop()!;
    const name = `${s.service}\u0000${s.operationName}`;
    let n = parent.children.get(name);
    if (!n) {
      n = node(s, t);
      parent.children.set(name, n);
    }
    n.stats.count += 1;
    n.stats.total += s.duration;
    if (s.isError) n.stats.errors += 1;
    n.offset = Math.min(n.offset, s.start - t.start);
    for (const c of s.children) stack.push([c, n]);
  }
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
  const first = (x: { ca?: Node; cb?: Node }) => Math.min(x.ca?.offset ?? Infinity, x.cb?.offset ?? Infinity);
  const childrenOf = (na: Node | undefined, nb: Node | undefined) => {
    const names = new Set([...(na?.children.keys() ?? []), ...(nb?.children.keys() ?? [])]);
    return [...names].map((name) => ({ ca: na?.children.get(name), cb: nb?.children.get(name) })).sort((x, y) => first(x) - first(y));
  };
  // Depth first without recursion: the stack holds the pairs still to list, the next on top.
  const stack = childrenOf(pathTree(a), pathTree(b)).reverse().map((pair) => ({ ...pair, depth: 0 }));
  while (stack.length) {
    const { ca, cb, depth } = stack.pop()!;
    const any = (ca ?? cb)!;
    const sa = ca ? ca.stats : null;
    const sb = cb ? cb.stats : null;
    rows.push({ depth, service: any.service, operation: any.operation, a: sa, b: sb, status: statusOf(sa, sb) });
    for (const pair of childrenOf(ca, cb).reverse()) stack.push({ ...pair, depth: depth + 1 });
  }
  return rows;
}
