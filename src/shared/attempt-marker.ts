/**
 * The line shown before a piece of output of `attempt` when the one before was of
 * `before` (undefined: the first piece): none within an attempt, nor before the first
 * attempt's first piece; on a line of its own.
 */
export function attemptMarker(shown: string, before: number | undefined, attempt: number): string {
  if (attempt === before || (before === undefined && attempt <= 1)) return '';
  const newline = shown === '' || shown.endsWith('\n') ? '' : '\n';
  return `${newline}── attempt ${attempt} ──\n`;
}
