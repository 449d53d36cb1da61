import { createReadStream } from 'node:fs';
import { InvalidArgumentError } from '../shared/errors.js';
import { decodeUtf8Text } from './utf8-text.js';

/** The argument (or --payload-file value) that means "read the payload from stdin". */
export const STDIN_SOURCE = '-';

/**
 * Most bytes `drover schedule` reads from a file or stdin: well above the leader's
 * default 1 MiB payload limit, but bounded so a wrong file (or an endless pipe) cannot
 * exhaust memory before the leader could refuse it.
 */
export const MAX_PAYLOAD_READ_BYTES = 64 * 1024 * 1024;

/**
 * The payload of `drover schedule`, from exactly one source: the PAYLOAD argument, `-`
 * (stdin), or --payload-file FILE (`-`: stdin). A payload read from a file or stdin is
 * sent byte for byte, trailing newline included, and must be valid UTF-8.
 * Throws {@link InvalidArgumentError} (exit 2) for none, two, an unreadable source, or an
 * empty payload.
 */
export async function resolvePayload(
  argument: string | undefined,
  payloadFile: string | undefined,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<string> {
  if (argument !== undefined && payloadFile !== undefined) {
    throw new InvalidArgumentError(
      'give the payload once: as the PAYLOAD argument (- reads stdin) or with --payload-file, not both',
    );
  }
  if (argument === undefined && payloadFile === undefined) {
    throw new InvalidArgumentError(
      'no payload: give it as the PAYLOAD argument, as - to read stdin, or with --payload-file FILE',
    );
  }
  const [payload, source] =
    payloadFile === undefined
      ? argument === STDIN_SOURCE
        ? [await readText(stdin, 'stdin'), 'stdin']
        : [argument!, 'the PAYLOAD argument']
      : payloadFile === STDIN_SOURCE
        ? [await readText(stdin, 'stdin'), 'stdin']
        : [
            await readText(createReadStream(payloadFile), `--payload-file ${payloadFile}`),
            `--payload-file ${payloadFile}`,
          ];
  // The leader refuses an empty payload too; said here, it is the usage error it is.
  if (payload === '') {
    throw new InvalidArgumentError(`the payload (${source}) is empty: a task needs one`);
  }
  return payload;
}

/** All of a stream, at most {@link MAX_PAYLOAD_READ_BYTES}, decoded as strict UTF-8. */
async function readText(stream: NodeJS.ReadableStream, source: string): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes > MAX_PAYLOAD_READ_BYTES) {
        throw new InvalidArgumentError(
          `${source} is over ${MAX_PAYLOAD_READ_BYTES} bytes, the most drover schedule reads`,
        );
      }
      chunks.push(buffer);
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`cannot read ${source}: ${readFailure(err)}`);
  } finally {
    // Stops a file or pipe left half-read by an error; a no-op once fully read.
    if ('destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
  }
  return decodeUtf8Text(Buffer.concat(chunks, bytes), source);
}

/** A short reason for a failed read: the common system errors in words. */
function readFailure(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return err instanceof Error ? err.message : String(err);
}
