import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoToken } from '../../api/demo-token.ts';
import { registerProblemHandlers } from '../../api/problems.ts';
import { registerWidgetRoutes } from '../../api/routes/widget.ts';

const PUBLIC_URL = 'http://127.0.0.1:8080';
const DEMO_TOKEN = 'wt_01JF8Z5QK00000000000000000.demo-token';
const PAGE =
  '<meta name="boringkit-token" content="{{DEMO_TOKEN}}">' +
  '<meta name="boringkit-token-expires-at" ' +
  'content="{{DEMO_TOKEN_EXPIRES_AT}}"><p>demo</p>';

let assetsDir: string;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  assetsDir = await mkdtemp(join(tmpdir(), 'boringkit-widget-assets-'));
  await writeFile(join(assetsDir, 'boringkit-job.js'), 'export {};\n');
  await writeFile(join(assetsDir, 'index.html'), PAGE);
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await rm(assetsDir, { recursive: true, force: true });
});

/**
 * Builds an app with the widget routes alone. With `demo`, the page gets
 * tokens from a minter that records the origins it was asked for; the
 * service's own minter is tested in widget-tokens.test.ts.
 */
async function appWith(
  options: { demo?: string[][]; dir?: string } = {},
): Promise<FastifyInstance> {
  const { demo } = options;
  const app = Fastify();
  registerProblemHandlers(app);
  registerWidgetRoutes(app, {
    assetsDir: options.dir ?? assetsDir,
    publicUrl: () => PUBLIC_URL,
    mintDemoToken: demo
      ? async (origins): Promise<DemoToken> => {
          demo.push(origins);
          return {
            id: 'wt_01JF8Z5QK00000000000000000',
            token: DEMO_TOKEN,
            expiresAt: '2026-12-04T11:00:00.000Z',
          };
        }
      : undefined,
  });
  await app.ready();
  apps.push(app);
  return app;
}

describe('widget routes', () => {
  it('serves the script as JavaScript with caching', async () => {
    const app = await appWith();
    const response = await app.inject('/widget/boringkit-job.js');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(
      'text/javascript; charset=utf-8',
    );
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(response.body).toBe('export {};\n');
  });

  it('returns 304 for a current ETag', async () => {
    const app = await appWith();
    const first = await app.inject('/widget/boringkit-job.js');
    const again = await app.inject({
      url: '/widget/boringkit-job.js',
      headers: { 'if-none-match': String(first.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('returns 503 when not built', async () => {
    const app = await appWith({ dir: join(assetsDir, 'missing') });
    const response = await app.inject('/widget/boringkit-job.js');
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe('WIDGET_NOT_BUILT');
    expect(response.json().detail).toContain('npm run build:widget');
  });

  it('embeds a demo token for loopback visitors', async () => {
    const minted: string[][] = [];
    const app = await appWith({ demo: minted });
    const response = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { host: '127.0.0.1:8080' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toContain(`content="${DEMO_TOKEN}"`);
    expect(response.body).toContain('content="2026-12-04T11:00:00.000Z"');
    expect(minted).toEqual([[PUBLIC_URL]]);
  });

  it('allows the loopback name the visitor used', async () => {
    const minted: string[][] = [];
    const app = await appWith({ demo: minted });
    await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { host: 'localhost:8080' },
    });
    expect(minted).toEqual([[PUBLIC_URL, 'http://localhost:8080']]);
  });

  it('embeds no token under a foreign host name', async () => {
    // A page reached under another name may be a DNS-rebinding attack.
    const minted: string[][] = [];
    const app = await appWith({ demo: minted });
    const response = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { host: 'rebind.example:8080' },
    });
    expect(response.body).toContain('content=""');
    expect(minted).toEqual([]);
  });

  it('embeds no token for other visitors', async () => {
    const minted: string[][] = [];
    const app = await appWith({ demo: minted });
    const response = await app.inject({
      url: '/',
      remoteAddress: '192.0.2.10',
      headers: { host: '127.0.0.1:8080' },
    });
    expect(response.body).not.toContain(DEMO_TOKEN);
    expect(response.body).toContain('content=""');
    expect(minted).toEqual([]);
  });

  it('embeds no token for proxied visitors', async () => {
    const minted: string[][] = [];
    const app = await appWith({ demo: minted });
    const response = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { host: '127.0.0.1:8080', 'x-forwarded-for': '192.0.2.10' },
    });
    expect(response.body).not.toContain(DEMO_TOKEN);
    expect(minted).toEqual([]);
  });

  it('embeds no token when keys are configured', async () => {
    const app = await appWith();
    const response = await app.inject({ url: '/', remoteAddress: '::1' });
    expect(response.body).toContain('content=""');
  });
});
