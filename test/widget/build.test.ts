import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureWidgetBuilt,
  isWidgetBuildFresh,
  WIDGET_FILES,
} from '../../widget/build.ts';

let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'boringkit-widget-build-'));
});
afterAll(() => rm(outDir, { recursive: true, force: true }));

describe('widget build', () => {
  it('builds when the output is missing', async () => {
    expect(await ensureWidgetBuilt(outDir)).toBe('built');
    expect(await isWidgetBuildFresh(outDir)).toBe(true);
  });

  it('skips a fresh build', async () => {
    expect(await ensureWidgetBuilt(outDir)).toBe('fresh');
  });

  it('rebuilds after the sources change', async () => {
    const stamp = join(outDir, WIDGET_FILES.stamp);
    await writeFile(stamp, JSON.stringify({ sourceHash: 'older sources' }));
    expect(await isWidgetBuildFresh(outDir)).toBe(false);
    expect(await ensureWidgetBuilt(outDir)).toBe('built');
  });

  it('bundles Lit into the served file only', async () => {
    const bundle = await readFile(join(outDir, WIDGET_FILES.bundle), 'utf8');
    const library = await readFile(join(outDir, WIDGET_FILES.library), 'utf8');
    expect(bundle).not.toMatch(/from\s*["']lit/);
    expect(library).toMatch(/from\s*["']lit["']/);
    expect(bundle).toContain('customElements.get("boringkit-job")');
  });
});
