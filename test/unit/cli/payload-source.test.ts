import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_READ_BYTES, resolvePayload } from '../../../src/cli/payload-source.js';
import { InvalidArgumentError } from '../../../src/shared/errors.js';

describe('resolvePayload', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-payload-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const stdin = (...chunks: (string | Buffer)[]): Readable => Readable.from(chunks);

  it('takes the argument as given', async () => {
    expect(await resolvePayload('500', undefined, stdin('unused'))).toBe('500');
  });

  it('reads stdin for - and for --payload-file -, byte for byte', async () => {
    const euro = Buffer.from('€');
    // A character split across chunks is joined before decoding.
    const parts = [Buffer.from('a'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\n')];
    expect(await resolvePayload('-', undefined, stdin(...parts))).toBe('a€\n');
    expect(await resolvePayload(undefined, '-', stdin(...parts))).toBe('a€\n');
  });

  it('reads a file', async () => {
    const file = join(dir, 'p.txt');
    writeFileSync(file, 'é'.repeat(100_000));
    expect(await resolvePayload(undefined, file)).toBe('é'.repeat(100_000));
  });

  it('refuses no source, two sources, and an empty payload from any source', async () => {
    await expect(resolvePayload(undefined, undefined)).rejects.toThrow(/^no payload/);
    await expect(resolvePayload('', undefined)).rejects.toThrow(
      'the payload (the PAYLOAD argument) is empty',
    );
    await expect(resolvePayload('-', undefined, stdin())).rejects.toThrow(
      'the payload (stdin) is empty',
    );
    await expect(resolvePayload('x', 'f')).rejects.toThrow(/^give the payload once/);
    await expect(resolvePayload('-', '-')).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses unreadable files and text that is not UTF-8', async () => {
    await expect(resolvePayload(undefined, join(dir, 'none'))).rejects.toThrow(
      `cannot read --payload-file ${join(dir, 'none')}: no such file`,
    );
    await expect(resolvePayload(undefined, dir)).rejects.toThrow('it is a directory');
    await expect(resolvePayload('-', undefined, stdin(Buffer.from([0xff])))).rejects.toThrow(
      'stdin is not valid UTF-8 text',
    );
  });

  it('stops reading past the most it reads', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const endless = new Readable({
      read() {
        this.push(chunk);
      },
    });
    await expect(resolvePayload('-', undefined, endless)).rejects.toThrow(
      `stdin is over ${MAX_PAYLOAD_READ_BYTES} bytes`,
    );
    expect(endless.destroyed).toBe(true);
  });
});
