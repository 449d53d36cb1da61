import type { AttemptOutput } from './attempt-context.js';
import type { OutputSink } from './runner-types.js';

/**
 * An attempt's output to `sink`, up to `limitChars` per attempt, then one marker saying it
 * was cut; nothing once the attempt has ended (its report closed its output).
 */
export function limitedOutput(sink: OutputSink, limitChars: number): AttemptOutput {
  return (attempt, stream, text) => {
    if (attempt.ended || text.length === 0 || attempt.outputChars > limitChars) return;
    const room = limitChars - attempt.outputChars;
    if (text.length <= room) {
      attempt.outputChars += text.length;
      sink(attempt.id, attempt.attempt, stream, text);
      return;
    }
    attempt.outputChars = limitChars + 1;
    if (room > 0) sink(attempt.id, attempt.attempt, stream, text.slice(0, room));
    const marker = `\n[output truncated on the worker at ${limitChars} characters]\n`;
    sink(attempt.id, attempt.attempt, 'log', marker);
  };
}
