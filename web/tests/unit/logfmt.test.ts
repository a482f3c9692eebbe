import { describe, expect, it } from 'vitest';
import { LogfmtError, logfmtToJaegerTags, normalizeTagsParam, parseLogfmt, toLogfmt } from '../../src/logfmt';

describe('logfmt → Jaeger tags', () => {
  it('converts the brief\'s searches to Jaeger\'s tags JSON map', () => {
    expect(logfmtToJaegerTags('error=true')).toBe('{"error":"true"}');
    expect(JSON.parse(logfmtToJaegerTags('error=true user_id=11'))).toEqual({ error: 'true', user_id: '11' });
    expect(JSON.parse(logfmtToJaegerTags('order_id=abc-123'))).toEqual({ order_id: 'abc-123' });
    expect(logfmtToJaegerTags('   ')).toBe('');
  });
  it('handles quotes, escapes, dotted keys, bare keys and empty values', () => {
    expect(parseLogfmt('http.route="/v1/order x" msg="say \\"hi\\"" flag empty= last=1')).toEqual({
      'http.route': '/v1/order x', msg: 'say "hi"', flag: 'true', empty: '', last: '1',
    });
  });
  it('rejects malformed input', () => {
    expect(() => parseLogfmt('a="unterminated')).toThrow(LogfmtError);
    expect(() => parseLogfmt('=x')).toThrow(LogfmtError);
    expect(() => parseLogfmt('a="x"b=1')).toThrow(LogfmtError);
  });
  it('round-trips through toLogfmt', () => {
    const tags = { error: 'true', 'http.route': '/v1/order x', q: 'a"b', e: '' };
    expect(parseLogfmt(toLogfmt(tags))).toEqual(tags);
  });
  it('accepts a Jaeger UI tags JSON parameter and shows it as logfmt', () => {
    expect(normalizeTagsParam('{"error":"true","user_id":11}')).toBe('error=true user_id=11');
    expect(normalizeTagsParam('error=true')).toBe('error=true');
  });
});
