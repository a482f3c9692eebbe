// Formatting of durations (µs), times and per-service colours.

export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const a = Math.abs(us);
  if (a < 1000) return `${round(us, a < 10 ? 2 : a < 100 ? 1 : 0)}µs`;
  if (a < 1_000_000) return `${round(us / 1000, a < 10_000 ? 2 : a < 100_000 ? 1 : 0)}ms`;
  if (a < 60_000_000) return `${round(us / 1_000_000, 2)}s`;
  const m = Math.floor(a / 60_000_000);
  const s = Math.round((a % 60_000_000) / 1_000_000);
  return `${us < 0 ? '-' : ''}${m}m ${s}s`;
}

function round(v: number, digits: number): string {
  return String(Number(v.toFixed(digits)));
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local date and time with milliseconds, e.g. 2026-11-29 14:41:53.123. */
export function formatTime(us: number): string {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatClock(us: number): string {
  const d = new Date(us / 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function timeAgo(us: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - us / 1000) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function formatPercent(f: number): string {
  if (!Number.isFinite(f)) return '–';
  const p = f * 100;
  return `${p === 0 ? 0 : p < 0.1 ? '<0.1' : p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function formatRate(r: number): string {
  if (!Number.isFinite(r)) return '–';
  if (r === 0) return '0/s';
  if (r < 0.01) return '<0.01/s';
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}/s`;
}

// A fixed palette keeps the same service in the same colour on every page.
const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#17becf', '#8c564b', '#e377c2', '#bcbd22',
  '#7f7f7f', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d',
];
const KNOWN: Record<string, number> = {
  'client-gateway': 0, 'user-service': 1, 'order-manager': 2, 'risk-manager': 3,
  'wallet-service': 4, 'reporting-service': 5, postgresql: 6, redis: 7, 'flowex-collector': 8,
};

export function serviceColor(name: string): string {
  const k = KNOWN[name];
  if (k !== undefined) return PALETTE[k];
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return PALETTE[9 + (h % (PALETTE.length - 9))];
}

export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;');
}

/** Parses "100ms", "1.5s", "250us", "2m" into µs; '' → null; bad input → NaN. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h)?$/.exec(t);
  if (!m) return NaN;
  const v = parseFloat(m[1]);
  const unit = m[2] ?? 'ms';
  const mult = unit === 'us' || unit === 'µs' ? 1 : unit === 'ms' ? 1e3 : unit === 's' ? 1e6 : unit === 'm' ? 60e6 : 3600e6;
  return v * mult;
}
