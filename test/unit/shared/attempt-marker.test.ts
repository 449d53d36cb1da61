import { describe, expect, it } from 'vitest';
import { attemptMarker } from '../../../src/shared/attempt-marker.js';

describe('attempt markers in a task output', () => {
  it('marks where each attempt after the first begins, on a line of its own', () => {
    expect(attemptMarker('', undefined, 1)).toBe('');
    expect(attemptMarker('a\n', 1, 1)).toBe('');
    expect(attemptMarker('a\n', 1, 2)).toBe('── attempt 2 ──\n');
    expect(attemptMarker('no newline', 2, 3)).toBe('\n── attempt 3 ──\n');
    // Output that starts at a later attempt (the first wrote nothing, or scrolled out).
    expect(attemptMarker('', undefined, 2)).toBe('── attempt 2 ──\n');
  });
});
