import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.ts';
import { startTestService, type TestService } from '../support/service.ts';

let service: TestService;
let client: Client;

beforeAll(async () => {
  // Engines are probed per request, so this hides Chromium from the catalog.
  process.env.CHROMIUM_PATH = '/nonexistent/chromium';
  service = await startTestService({}, ['api']);
  client = new Client(service.url);
});
afterAll(async () => {
  delete process.env.CHROMIUM_PATH;
  await service.stop();
});

describe('missing engine', () => {
  it('marks its tool unavailable with the reason', async () => {
    const { body } = await client.request('GET', '/v1/tools/html-to-pdf-api');
    expect(body.apiJobCreation).toBe('unavailable');
    expect(body.unavailableReason).toContain('CHROMIUM_PATH');
  });

  it('keeps other tools available', async () => {
    const { body } = await client.request('GET', '/v1/tools/pdf-to-text');
    expect(body.apiJobCreation).toBe('available');
  });

  it('refuses jobs with TOOL_UNAVAILABLE', async () => {
    const { status, body } = await client.createJob({
      toolSlug: 'html-to-pdf-api',
      input: { kind: 'text', contentType: 'text/html', text: '<p>x</p>' },
    });
    expect(status).toBe(503);
    expect(body.code).toBe('TOOL_UNAVAILABLE');
    expect(body.detail).toContain('chromium');
  });

  it('lists all 13 tools', async () => {
    const { body } = await client.request('GET', '/v1/tools');
    expect(body.data).toHaveLength(13);
    const available = body.data.filter(
      (tool: { apiJobCreation: string }) => tool.apiJobCreation === 'available',
    );
    expect(available).toHaveLength(12);
    const slugs = available.map((tool: { slug: string }) => tool.slug);
    expect(slugs).not.toContain('html-to-pdf-api');
  });
});
