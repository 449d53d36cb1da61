import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/shared/errors.js';
import { checkId } from '../../../src/shared/text.js';

describe('checkId', () => {
  it('counts characters as a person does: 256 emoji are 256, not 512', () => {
    expect(checkId('😀'.repeat(256), 'task id')).toHaveLength(512);
    expect(() => checkId('😀'.repeat(257), 'task id')).toThrow(
      /^task id .* is 257 characters; the most is 256$/,
    );
    expect(() => checkId('a'.repeat(257), 'task id')).toThrow(InvalidArgumentError);
    expect(checkId('a'.repeat(256), 'task id')).toHaveLength(256);
  });
});
