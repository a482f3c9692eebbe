// Tags typed as logfmt in the search form (`error=true user_id=11 http.route="/v1/order"`)
// become Jaeger's `tags` query parameter: a JSON object of string values.

export class LogfmtError extends Error {}

/** Parses logfmt into key → value. A bare key means `true`. Throws LogfmtError on bad input. */
export function parseLogfmt(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  while (i < n) {
    while (i < n && isSpace(text[i])) i++;
    if (i >= n) break;
    let key = '';
    while (i < n && text[i] !== '=' && !isSpace(text[i])) {
      if (text[i] === '"') throw new LogfmtError(`unexpected quote in key at ${i + 1}`);
      key += text[i++];
    }
    if (!key) throw new LogfmtError(`missing key at ${i + 1}`);
    if (i >= n || isSpace(text[i])) {
      out[key] = 'true';
      continue;
    }
    i++; // '='
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (c === '\\' && i + 1 < n) {
          const e = text[i + 1];
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) throw new LogfmtError(`unterminated quote for "${key}"`);
      if (i < n && !isSpace(text[i])) throw new LogfmtError(`expected a space after "${key}"`);
    } else {
      while (i < n && !isSpace(text[i])) value += text[i++];
    }
    out[key] = value;
  }
  return out;
}

/** Formats key → value back to logfmt, quoting where needed. */
export function toLogfmt(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => {
      const needs = v === '' || /[\s"=\\]/.test(v);
      return needs ? `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `${k}=${v}`;
    })
    .join(' ');
}

/** The value of Jaeger's `tags` query parameter, or '' when there are no tags. */
export function logfmtToJaegerTags(text: string): string {
  const tags = parseLogfmt(text);
  return Object.keys(tags).length ? JSON.stringify(tags) : '';
}

/** Accepts either logfmt or a Jaeger tags JSON map (as Jaeger UI URLs carry) and returns logfmt. */
export function normalizeTagsParam(param: string): string {
  const t = param.trim();
  if (t.startsWith('{')) {
    try {
      const obj = JSON.parse(t) as Record<string, unknown>;
      const m: Record<string, string> = {};
      for (const [k, v] of Object.entries(obj)) m[k] = String(v);
      return toLogfmt(m);
    } catch {
      return t;
    }
  }
  return t;
}
