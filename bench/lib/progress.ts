/** One progress line on stderr saying what runs now (results go to files, not here). */
export function progress(text: string): void {
  const stamp = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${stamp}] ${text}\n`);
}
