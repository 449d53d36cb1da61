import { describe, expect, it } from 'vitest';
import { decodeUtf8Text, isCleanText, refuseMalformedInput } from '../../../src/cli/utf8-text.js';

describe('isCleanText', () => {
  it.each(['', 'abc', 'é', '€', '😀', 'a😀é€', 'naïve ✓'])('accepts %j', (text) => {
    expect(isCleanText(text)).toBe(true);
  });

  it.each([
    '\ufffd',
    'a\ufffdb',
    '\ud800',
    'x\udc00y',
    '\ud83d',
    'a\ud83d\ud83d\ude00',
    '\ude00\ud83d',
  ])('refuses %j', (text) => {
    expect(isCleanText(text)).toBe(false);
  });
});

describe('refuseMalformedInput', () => {
  it('passes clean arguments and environment', () => {
    expect(() =>
      refuseMalformedInput(['schedule', '--id', 'é', 'x'], {
        DROVER_LEADER: 'h:1',
        OTHER: '\ufffd',
      }),
    ).not.toThrow();
  });

  it('names the argument, its position and the option before it', () => {
    expect(() => refuseMalformedInput(['schedule', '--id', 'a\ufffd', 'x'], {})).toThrow(
      /^argument 3 \("a\\ufffd" after --id\) is not valid UTF-8 text; arguments must be valid UTF-8/,
    );
    expect(() => refuseMalformedInput(['schedule', '--id=\ud800'], {})).toThrow(
      /^argument 2 \("--id=\\ud800"\) is not valid UTF-8 text/,
    );
  });

  it('shows the part of a long argument around the bad character', () => {
    const long = `${'a'.repeat(1000)}\ufffd${'b'.repeat(1000)}`;
    expect(() => refuseMalformedInput([long], {})).toThrow(
      `argument 1 ("…${'a'.repeat(30)}\\ufffd${'b'.repeat(29)}…")`,
    );
  });

  it('checks DROVER_ environment variables only', () => {
    expect(() => refuseMalformedInput([], { DROVER_TLS_CA: '/x/\ufffd' })).toThrow(
      /^environment variable DROVER_TLS_CA \("\/x\/\\ufffd"\) is not valid UTF-8 text/,
    );
  });
});

describe('decodeUtf8Text', () => {
  it('decodes valid UTF-8 exactly, keeping a byte-order mark', () => {
    const text = '\ufeffé😀\n';
    expect(decodeUtf8Text(new TextEncoder().encode(text), 'f')).toBe(text);
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['an invalid byte', [0x61, 0xff]],
    ['a truncated sequence', [0xc3]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
  ])('refuses %s', (_name, bytes) => {
    expect(() => decodeUtf8Text(Uint8Array.from(bytes), 'stdin')).toThrow(
      'stdin is not valid UTF-8 text',
    );
  });
});
