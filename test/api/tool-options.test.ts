import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.ts';
import { startTestService, type TestService } from '../support/service.ts';

let service: TestService;
let client: Client;

beforeAll(async () => {
  // API only: no worker runs, so every response comes from job creation.
  service = await startTestService({ BORINGKIT_STARTING_CREDITS: '1000' }, [
    'api',
  ]);
  client = new Client(service.url);
});
afterAll(() => service.stop());

/** Builds a job request for a file that is never uploaded. */
function fileJob(
  toolSlug: string,
  contentType: string,
  options: Record<string, unknown>,
) {
  return {
    toolSlug,
    input: {
      kind: 'file',
      name: 'input',
      contentType,
      sizeBytes: 1024,
      options,
    },
  };
}

const trimJob = (options: Record<string, unknown>) =>
  fileJob('trim-video', 'video/mp4', options);
const gifJob = (options: Record<string, unknown>) =>
  fileJob('video-to-gif', 'video/mp4', options);
const spreadsheetJob = (options: Record<string, unknown>) =>
  fileJob('spreadsheet-to-pdf', 'text/csv', options);
const imagesJob = (options: Record<string, unknown>) =>
  fileJob('pdf-to-images-zip', 'application/pdf', options);

describe('option checks at job creation', () => {
  it.each([
    ['trim end before start', trimJob({ start: 5, end: 2 }), 'end'],
    ['trim end equal to start', trimJob({ start: 2, end: 2 }), 'end'],
    [
      'trim end and duration',
      trimJob({ start: 0, end: 2, duration: 2 }),
      'duration',
    ],
    ['trim duration of 0', trimJob({ duration: 0 }), 'duration'],
    ['trim negative duration', trimJob({ duration: -1 }), 'duration'],
    ['gif over 15 s', gifJob({ duration: 16 }), 'duration'],
    ['trim start past the longest video', trimJob({ start: 1e308 }), 'start'],
    ['a page range that runs backwards', imagesJob({ pages: '2-1' }), 'pages'],
    ['a page range with page 0', imagesJob({ pages: '0' }), 'pages'],
    [
      'unknown CSV encoding',
      spreadsheetJob({ csvEncoding: 'no-such-charset' }),
      'csvEncoding',
    ],
  ])('rejects %s', async (_case, request, option) => {
    const { status, headers, body } = await client.createJob(request);

    expect(status).toBe(400);
    expect(headers.get('content-type')).toContain('application/problem+json');
    expect(body.code).toBe('INVALID_OPTIONS');
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].path).toBe(`input.options.${option}`);
    expect(body.detail).toContain(`input.options.${option}`);
    expect(body.errors[0].message).toMatch(/\b(Set|Omit|Use|Remove)\b/);
  });

  it('names the values of a trim end before start', async () => {
    const { body } = await client.createJob(trimJob({ start: 5, end: 2 }));

    expect(body.errors[0].message).toContain('end (2 s)');
    expect(body.errors[0].message).toContain('start (5 s)');
  });

  it('names an unknown CSV encoding', async () => {
    const { body } = await client.createJob(
      spreadsheetJob({ csvEncoding: 'no-such-charset' }),
    );

    expect(body.errors[0].message).toContain('"no-such-charset"');
  });

  it('charges nothing for rejected options', async () => {
    const before = await client.request('GET', '/v1/credits');
    await client.createJob(trimJob({ start: 5, end: 2 }));
    const after = await client.request('GET', '/v1/credits');

    expect(after.body.balance).toBe(before.body.balance);
  });

  it.each([
    ['a trim range', trimJob({ start: 1, end: 3 }), { start: 1, end: 3 }],
    ['a trim duration', trimJob({ start: 1, duration: 2 }), { duration: 2 }],
    ['a 15 s GIF', gifJob({ start: 0, duration: 15 }), { duration: 15 }],
    [
      'a known CSV encoding',
      spreadsheetJob({ csvEncoding: 'ISO-8859-1' }),
      { csvEncoding: 'ISO-8859-1' },
    ],
  ])('accepts %s', async (_case, request, expected) => {
    const { status, body } = await client.createJob(request);

    expect(status).toBe(201);
    expect(body.input.options).toMatchObject(expected);
  });
});
