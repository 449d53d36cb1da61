/**
 * RFC 3339 times, read strictly: a date, a time and a zone (`Z` or `±hh:mm`), every field
 * in range. JavaScript's Date parser is far looser (it reads a time without a zone in the
 * machine's own zone, rolls 2026-02-30 over to March 2, and takes "1" for the year 2001),
 * and a delayed task that starts at the wrong time is worse than a refusal.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Epoch milliseconds of an RFC 3339 time, or undefined if `text` is not one. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const [offsetHours, offsetMins] = [Number(m[10]), Number(m[11])];
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const fractionMs = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear keeps the year as written.
  const at = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, fractionMs));
  at.setUTCFullYear(year);
  return at.getTime() - offsetMinutes * 60_000;
}

/** What a person should be told when a time is refused. */
export const RFC3339_HINT =
  'give an RFC 3339 time with its zone, such as 2026-12-01T03:00:00Z or 2026-12-01T04:00:00+01:00';
