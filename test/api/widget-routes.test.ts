import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerProblemHandlers } from '../../api/problems.ts';
import { registerWidgetRoutes } from '../../api/routes/widget.ts';

const DEV_KEY = 'bk_dev_widget-route-test-key';
const PAGE =
  '<meta name="boringkit-token" content="{{DEMO_TOKEN}}"><p>demo</p>';

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

async function appWith(
  options: { demoApiKey?: string; dir?: string } = {},
): Promise<FastifyInstance> {
  const app = Fastify();
  registerProblemHandlers(app);
  registerWidgetRoutes(app, {
    assetsDir: options.dir ?? assetsDir,
    demoApiKey: options.demoApiKey,
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

  it('embeds the dev key for loopback visitors', async () => {
    const app = await appWith({ demoApiKey: DEV_KEY });
    const response = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toContain(`content="${DEV_KEY}"`);
  });

  it('keeps the dev key from other visitors', async () => {
    const app = await appWith({ demoApiKey: DEV_KEY });
    const response = await app.inject({
      url: '/',
      remoteAddress: '192.0.2.10',
    });
    expect(response.body).not.toContain(DEV_KEY);
    expect(response.body).toContain('content=""');
  });

  it('keeps the dev key from proxied visitors', async () => {
    const app = await appWith({ demoApiKey: DEV_KEY });
    const response = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '192.0.2.10' },
    });
    expect(response.body).not.toContain(DEV_KEY);
  });

  it('embeds no key when keys are configured', async () => {
    const app = await appWith();
    const response = await app.inject({ url: '/', remoteAddress: '::1' });
    expect(response.body).toContain('content=""');
  });
});
