import { describe, expect, it } from 'vitest';
import {
  MAX_CHUNKS_PER_MESSAGE,
  OUTPUT_PIECE_CHARS,
  OutputBuffer,
  splitText,
} from '../../../src/worker/output-buffer.js';

describe('splitText', () => {
  it('cuts text into pieces of at most the size, in order', () => {
    expect(splitText('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
    expect(splitText('', 3)).toEqual([]);
    expect(splitText('ab', 3)).toEqual(['ab']);
  });

  it('never cuts between the halves of a surrogate pair', () => {
    const pieces = splitText('ab😀cd', 3); // 😀 is two UTF-16 units
    expect(pieces.join('')).toBe('ab😀cd');
    for (const piece of pieces) expect(piece).not.toMatch(/[\uD800-\uDBFF]$/);
    expect(pieces[0]).toBe('ab');
  });
});

describe('OutputBuffer', () => {
  it('hands out the oldest chunks within a byte budget, at least one, and knows who waits', () => {
    const buffer = new OutputBuffer();
    buffer.push('a', 1, 'stdout', 'x'.repeat(10)); // 30 bytes at the most
    buffer.push('b', 2, 'stderr', 'y'.repeat(10));
    buffer.push('a', 1, 'stdout', 'z');
    expect(buffer.attemptsWaiting()).toEqual(new Set(['a#1', 'b#2']));
    expect(buffer.take(35, 1).map((c) => c.id)).toEqual(['a']);
    expect(buffer.take(1, 1).map((c) => c.data)).toEqual(['y'.repeat(10)]); // progress anyway
    expect(buffer.attemptsWaiting()).toEqual(new Set(['a#1']));
    buffer.take(1_000, 1);
    expect(buffer.size).toBe(0);
  });

  it('holds at most holdChars; past that it drops newer output behind one marker per attempt', () => {
    const buffer = new OutputBuffer(10);
    buffer.push('a', 1, 'stdout', '123456');
    buffer.push('b', 1, 'stdout', '789');
    buffer.push('a', 1, 'stdout', 'xx'); // 11 > 10: dropped, with a marker
    buffer.push('a', 1, 'stdout', 'yy'); // dropped behind the same marker
    buffer.push('b', 1, 'stdout', 'z'); // the marker counts too: b's is dropped as well
    const sent = buffer.take(1_000, 1).map((c) => [c.id, c.stream, c.data]);
    expect(sent).toEqual([
      ['a', 'stdout', '123456'],
      ['b', 'stdout', '789'],
      [
        'a',
        'log',
        '[drover: output dropped here: more than 10 characters waited for the leader]\n',
      ],
      [
        'b',
        'log',
        '[drover: output dropped here: more than 10 characters waited for the leader]\n',
      ],
    ]);
    // Sent: room again, and output flows as before.
    buffer.push('a', 1, 'stdout', 'again');
    expect(buffer.take(1_000, 1).map((c) => c.data)).toEqual(['again']);
  });

  it('hands out at most MAX_CHUNKS_PER_MESSAGE chunks at once, however small they are', () => {
    const buffer = new OutputBuffer();
    for (let i = 0; i < MAX_CHUNKS_PER_MESSAGE + 3; i++) buffer.push('t', 1, 'log', 'x');
    expect(buffer.take(1024 * 1024, 1)).toHaveLength(MAX_CHUNKS_PER_MESSAGE);
    expect(buffer.take(1024 * 1024, 2)).toHaveLength(3);
  });

  it('cuts long output into pieces of OUTPUT_PIECE_CHARS', () => {
    const buffer = new OutputBuffer();
    buffer.push('a', 1, 'log', 'q'.repeat(OUTPUT_PIECE_CHARS * 2 + 1));
    expect(buffer.size).toBe(3);
  });

  it('numbers each piece by the characters of its attempt before it, all streams together', () => {
    const buffer = new OutputBuffer();
    buffer.push('a', 1, 'stdout', 'abc');
    buffer.push('b', 1, 'stdout', 'xy');
    buffer.push('a', 1, 'stderr', 'de');
    buffer.push('a', 1, 'stdout', ''); // nothing to number
    buffer.push('a', 2, 'log', 'z'); // another attempt counts from 0
    const sent = buffer.take(1_000, 1).map((c) => [c.id, c.attempt, c.offset, c.data]);
    expect(sent).toEqual([
      ['a', 1, 0, 'abc'],
      ['b', 1, 0, 'xy'],
      ['a', 1, 3, 'de'],
      ['a', 2, 0, 'z'],
    ]);
  });

  it('keeps what it sent until the leader saved it, and sends the rest first on a new stream', () => {
    const buffer = new OutputBuffer();
    buffer.streamOpened(true);
    buffer.push('a', 1, 'stdout', 'one ');
    expect(buffer.take(1_000, 1).map((c) => c.data)).toEqual(['one ']);
    buffer.push('a', 1, 'stdout', 'two ');
    expect(buffer.take(1_000, 2).map((c) => c.data)).toEqual(['two ']);
    buffer.push('a', 1, 'stdout', 'three');
    expect(buffer.held).toBe(13); // sent and not saved still counts against holdChars
    buffer.saved(1); // message 1 saved; message 2 was not (the leader froze, say)
    expect(buffer.held).toBe(9);
    buffer.streamOpened(true);
    const resent = buffer.take(1_000, 1).map((c) => [c.offset, c.data]);
    expect(resent).toEqual([
      [4, 'two '],
      [8, 'three'],
    ]);
    // Serials count again on the new stream.
    buffer.saved(1);
    expect(buffer.held).toBe(0);
    expect(buffer.size).toBe(0);
  });

  it('forgets output once sent when the leader does not say what it saved', () => {
    const buffer = new OutputBuffer();
    buffer.streamOpened(false);
    buffer.push('a', 1, 'stdout', 'gone');
    buffer.take(1_000, 1);
    expect(buffer.held).toBe(0);
    buffer.streamOpened(false);
    expect(buffer.take(1_000, 1)).toEqual([]);
  });

  it('drops newer output behind a marker while sent output waits to be saved', () => {
    const buffer = new OutputBuffer(10);
    buffer.streamOpened(true);
    buffer.push('a', 1, 'stdout', '12345678');
    buffer.take(1_000, 1);
    buffer.push('a', 1, 'stdout', 'abc'); // 11 > 10: the leader has not saved the 8 yet
    const [marker] = buffer.take(1_000, 2);
    expect(marker).toMatchObject({ stream: 'log', offset: 8 });
    expect(marker!.data).toMatch(/output dropped here/);
    buffer.saved(2);
    buffer.push('a', 1, 'stdout', 'abc'); // room again
    expect(buffer.take(1_000, 3).map((c) => [c.offset, c.data])).toEqual([
      [8 + marker!.data.length, 'abc'],
    ]);
  });
});
