import { InvalidArgumentError } from './errors.js';

// Checks on strings that come from outside (HTTP bodies, gRPC messages, CLI arguments)
// before anything keeps them. Pure: used by the cores as well as the adapters.

/** The longest id (task, member) anywhere: ids travel in headers, logs and listings. */
export const MAX_ID_LENGTH = 256;

/** The most characters of a caller's value an error message repeats back. */
const ECHO_CHARS = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// eslint-disable-next-line no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]/;

/**
 * True when a string survives a UTF-8 round trip: no lone surrogate (UTF-8 cannot encode
 * one, so SQLite, protobuf and JSON writers would store U+FFFD instead and the value read
 * back would differ from the one acknowledged).
 */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** A caller's value, quoted and cut short, for an error message (never the whole thing). */
export function echo(value: string): string {
  const cut = value.length > ECHO_CHARS ? `${value.slice(0, ECHO_CHARS)}...` : value;
  // JSON quoting shows control characters and lone surrogates as escapes.
  return JSON.stringify(cut);
}

/** Refuses a string that is not well-formed text; `what` names it ("task payload"). */
export function checkText(value: string, what: string): string {
  if (!isWellFormed(value)) {
    throw new InvalidArgumentError(
      `${what} is not valid Unicode text (it holds a lone UTF-16 surrogate, which UTF-8 cannot encode)`,
    );
  }
  return value;
}

/**
 * Checks an id (task or member): 1 to MAX_ID_LENGTH characters (code points: an emoji is
 * one, as a person counts it), no whitespace or control characters, well-formed. `what`
 * names it ("task id").
 */
export function checkId(value: string, what: string): string {
  if (value.length === 0) throw new InvalidArgumentError(`${what} must not be empty`);
  // UTF-16 units first: a code point is one or two of them, so only past the bound are
  // code points counted.
  const characters = value.length <= MAX_ID_LENGTH ? value.length : codePoints(value);
  if (characters > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(
      `${what} ${echo(value)} is ${characters} characters; the most is ${MAX_ID_LENGTH}`,
    );
  }
  if (WHITESPACE_OR_CONTROL.test(value)) {
    throw new InvalidArgumentError(
      `${what} ${echo(value)} must not contain whitespace or control characters`,
    );
  }
  checkText(value, what);
  return value;
}

/** Cuts text to `most` UTF-16 units with a marker saying so (never between a pair). */
export function boundText(text: string, most: number): string {
  if (text.length <= most) return text;
  let end = most;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… [cut at ${most} of ${text.length} characters]`;
}

/** How many code points `value` holds: a walk, no array (a 2 MB id costs ~1 ms). */
function codePoints(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}
