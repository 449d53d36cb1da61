import { InvalidArgumentError } from '../shared/errors.js';

/**
 * Text the CLI takes in must be exactly what the user gave. Node decodes argv and the
 * environment as UTF-8 and silently turns invalid bytes (`$'\xff'`) into U+FFFD, so a task
 * id or payload would reach the leader changed; lone surrogates cannot be encoded as UTF-8
 * at all. Both are refused (issue #13). A U+FFFD typed on purpose is refused too: after
 * Node's decoding it cannot be told apart from a broken byte.
 */

const REPLACEMENT = '\uFFFD';
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_CHARACTERS = new RegExp(`${REPLACEMENT}|${LONE_SURROGATE.source}`, 'g');
/** Characters of a refused value shown in the message. */
const SHOWN_CHARS = 60;

/** True when `text` has no U+FFFD and no lone surrogate. */
export function isCleanText(text: string): boolean {
  return !text.includes(REPLACEMENT) && !LONE_SURROGATE.test(text);
}

/**
 * Throws an {@link InvalidArgumentError} (exit 2) naming the first command-line argument,
 * or DROVER_* environment variable, that is not valid UTF-8 text.
 */
export function refuseMalformedInput(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): void {
  const rule =
    'must be valid UTF-8 (invalid bytes show up as U+FFFD, which drover refuses rather than send altered text)';
  for (const [index, arg] of args.entries()) {
    if (isCleanText(arg)) continue;
    const previous = args[index - 1];
    const after = previous?.startsWith('-') && !previous.includes('=') ? ` after ${previous}` : '';
    throw new InvalidArgumentError(
      `argument ${index + 1} ("${visible(arg)}"${after}) is not valid UTF-8 text; arguments ${rule}`,
    );
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('DROVER_') || value === undefined || isCleanText(value)) continue;
    throw new InvalidArgumentError(
      `environment variable ${name} ("${visible(value)}") is not valid UTF-8 text; its value ${rule}`,
    );
  }
}

/**
 * Decodes bytes read from a file or stdin as UTF-8, refusing invalid sequences (encoded
 * surrogates included) instead of replacing them. A byte-order mark is kept: the payload
 * is the file's text exactly as written.
 */
export function decodeUtf8Text(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidArgumentError(
      `${source} is not valid UTF-8 text: a payload must be UTF-8 text (encode binary data first, for example as base64)`,
    );
  }
}

/**
 * The part of `text` around its first bad character, with U+FFFD and lone surrogates
 * written as \uXXXX escapes, so the message shows what was refused and where.
 */
function visible(text: string): string {
  const first = text.search(BAD_CHARACTERS);
  const start = Math.max(0, first - SHOWN_CHARS / 2);
  const end = Math.min(text.length, start + SHOWN_CHARS);
  const shown = `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
  return shown.replace(
    BAD_CHARACTERS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
