import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_PATH, renderConfigDocs } from '../../../../scripts/config-docs.js';

// CI runs `npm run docs:config:check` too; this catches a stale README before a push.
describe('README configuration tables', () => {
  const readme = readFileSync(README_PATH, 'utf8');

  it('are what the option tables generate', async () => {
    const { text, stale } = await renderConfigDocs(readme);
    expect(stale).toEqual([]);
    expect(text).toBe(readme);
  });

  it('are found stale when a row is edited by hand, and rewritten', async () => {
    const edited = readme.replace('`DROVER_SLOTS`', '`DROVER_SLOT_COUNT`');
    expect(edited).not.toBe(readme);
    const { text, stale } = await renderConfigDocs(edited);
    expect(stale).toEqual(['worker']);
    expect(text).toBe(readme);
  });

  it('need both markers', async () => {
    await expect(renderConfigDocs('# no tables\n')).rejects.toThrow(
      'README.md has no <!-- config:leader:start --> ... <!-- config:leader:end --> markers',
    );
  });
});
