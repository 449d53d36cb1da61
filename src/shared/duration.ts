/**
 * Durations typed on the command line: `90s`, `10m`, `1h30m`, `2d`, `500ms`, `1.5h`. Each
 * unit at most once, largest first, in lower case, so every accepted text means one thing:
 * `1m1m`, `5S` (seconds or a typo?) and `30` (seconds or milliseconds?) are refused rather
 * than guessed. A permissive parser read `5S` as 5 s and `1m1m` as 2 min.
 */

/** What a duration looks like, for error messages. */
export const DURATION_HINT =
  'a duration such as 30s, 10m, 1h30m, 2d or 500ms (units d, h, m, s, ms, largest first, each once)';

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
] as const;

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
// One optional group per unit, in order: d, h, m, s, ms ("m" must not eat the "m" of "ms").
const GRAMMAR = new RegExp(`^${UNITS.map(([unit]) => `(?:${NUMBER}${unit}(?!s))?`).join('')}$`);

/** The duration `text` spells, in ms (not rounded), or undefined when it spells none. */
export function parseDuration(text: string): number | undefined {
  const match = GRAMMAR.exec(text);
  if (match === null || text === '') return undefined;
  let ms = 0;
  UNITS.forEach(([, unitMs], i) => {
    const amount = match[i + 1];
    if (amount !== undefined) ms += Number(amount) * unitMs;
  });
  return Number.isFinite(ms) ? ms : undefined;
}
