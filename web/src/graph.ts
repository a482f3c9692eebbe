// Layered layout of the dependency graph (left to right, callers before callees).
import type { DependencyLink } from './types';

export interface LayoutNode {
  id: string;
  layer: number;
  order: number;
  x: number;
  y: number;
}

export function layoutGraph(links: DependencyLink[], colW = 230, rowH = 96): { nodes: Map<string, LayoutNode>; width: number; height: number } {
  const ids = new Set<string>();
  for (const l of links) { ids.add(l.parent); ids.add(l.child); }
  const layer = new Map<string, number>();
  for (const id of ids) layer.set(id, 0);
  // Longest path from a source; bounded relaxation so cycles cannot loop forever.
  const edges = links.filter((l) => l.parent !== l.child);
  for (let iter = 0; iter < ids.size; iter++) {
    let changed = false;
    for (const e of edges) {
      const want = layer.get(e.parent)! + 1;
      if (want > layer.get(e.child)! && want < ids.size) { layer.set(e.child, want); changed = true; }
    }
    if (!changed) break;
  }
  const byLayer = new Map<number, string[]>();
  for (const [id, l] of layer) {
    const a = byLayer.get(l);
    if (a) a.push(id);
    else byLayer.set(l, [id]);
  }
  const nodes = new Map<string, LayoutNode>();
  const layers = [...byLayer.keys()].sort((a, b) => a - b);
  let maxRows = 1;
  for (const l of layers) {
    const list = byLayer.get(l)!;
    // barycentre of parents' order keeps edges short; ties by name
    const bary = (id: string) => {
      const ps = edges.filter((e) => e.child === id && nodes.has(e.parent)).map((e) => nodes.get(e.parent)!.order);
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : 0;
    };
    list.sort((a, b) => bary(a) - bary(b) || a.localeCompare(b));
    list.forEach((id, i) => nodes.set(id, { id, layer: l, order: i, x: 20 + l * colW, y: 20 + i * rowH }));
    maxRows = Math.max(maxRows, list.length);
  }
  // centre short columns vertically
  for (const l of layers) {
    const list = byLayer.get(l)!;
    const off = ((maxRows - list.length) * rowH) / 2;
    for (const id of list) nodes.get(id)!.y += off;
  }
  return { nodes, width: 20 + (layers.length ? layers[layers.length - 1] + 1 : 1) * colW, height: 20 + maxRows * rowH };
}
