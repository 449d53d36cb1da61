/** A "lo-hi" range of milliseconds from an environment variable (`name` for the message). */
export function msRange(name: string, text: string): [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (!match || Number(match[1]) > Number(match[2])) {
    throw new Error(`${name} must be "lo-hi" in ms (lo <= hi), not "${text}"`);
  }
  return [Number(match[1]), Number(match[2])];
}
