/** Delay units the form takes: `30s`, `10m`, `2h`, or plain milliseconds. */
const UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A delay as typed, in milliseconds; throws with a person's message when it is not one. */
export function parseDelay(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const match = /^(\d+)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`delay "${text}": write a number with ms, s, m or h (10m)`);
  const ms = Number(match[1]) * UNITS[match[2] ?? '']!;
  if (!Number.isSafeInteger(ms)) throw new Error(`delay "${text}" is too long`);
  return ms;
}
