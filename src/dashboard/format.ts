/** "3 s ago", "5 min ago": how long ago an ISO time was, for tables. */
export function ago(iso: string | undefined, nowMs: number): string {
  if (iso === undefined) return '';
  const ms = nowMs - Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  // The leader's clock and the browser's differ by a little: under a second is "now".
  if (Math.abs(ms) < 1000) return 'just now';
  if (ms < 0) return `in ${duration(-ms)}`;
  return `${duration(ms)} ago`;
}

/** A duration in the largest unit that keeps it readable. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h`;
  return `${Math.floor(ms / 86_400_000)} d`;
}

/** A time as the browser's locale writes it, with milliseconds where the locale puts them. */
export function when(iso: string | undefined): string {
  if (iso === undefined) return '-';
  return new Date(iso).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
  });
}

/** Text cut to `chars` characters with an ellipsis. */
export function cut(text: string | undefined, chars: number): string {
  if (text === undefined) return '';
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}
