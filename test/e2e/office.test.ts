import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDocx, makePptx } from '../fixtures/make-office.ts';
import { Client } from '../support/client.ts';
import { fileInput } from '../support/fixtures.ts';
import { pdfPageCount, pdfText } from '../support/poppler.ts';
import { startTestService, type TestService } from '../support/service.ts';

const DOCX =
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const PPTX =
  'application/vnd.openxmlformats-officedocument.presentationml.presentation';

let service: TestService;
let client: Client;
let scratch: string;

beforeAll(async () => {
  service = await startTestService();
  client = new Client(service.url);
  scratch = await mkdtemp(join(tmpdir(), 'boringkit-office-'));
});
afterAll(async () => {
  await service.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function convert(toolSlug: string, name: string, type: string) {
  const bytes = await readFile(join(scratch, name));
  const created = await client.createJob({
    toolSlug,
    input: fileInput(name, type, bytes),
  });
  expect(created.status).toBe(201);
  expect((await client.upload(created.body, bytes)).status).toBe(200);
  return client.waitForStatus(created.body.id, ['succeeded', 'failed']);
}

describe('office tools end to end', () => {
  it('word-to-pdf keeps the words', async () => {
    await makeDocx(join(scratch, 'letter.docx'), ['Dear india', 'From juliet']);
    const job = await convert('word-to-pdf', 'letter.docx', DOCX);
    expect(job.status).toBe('succeeded');
    const { bytes } = await client.download(job.id);
    const text = await pdfText(bytes);
    expect(text).toContain('Dear india');
    expect(text).toContain('From juliet');
  });

  it('slides-to-pdf makes a page a slide', async () => {
    await makePptx(join(scratch, 'deck.pptx'), ['kilo', 'lima', 'mike']);
    const job = await convert('slides-to-pdf', 'deck.pptx', PPTX);
    expect(job.status).toBe('succeeded');
    const { bytes } = await client.download(job.id);
    expect(await pdfPageCount(bytes)).toBe(3);
    expect(job.output.metadata.pages).toBe(3);
  });
});
