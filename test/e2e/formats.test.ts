import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  convertWithSoffice,
  makeDocx,
  makePptx,
  makeXlsx,
} from '../fixtures/make-office.ts';
import { makeVideo } from '../fixtures/make-video.ts';
import { Client } from '../support/client.ts';
import { fileInput } from '../support/fixtures.ts';
import { pdfText } from '../support/poppler.ts';
import { startTestService, type TestService } from '../support/service.ts';

const OFFICE = 'application/vnd.oasis.opendocument';

let service: TestService;
let client: Client;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'boringkit-formats-'));
  const at = (name: string) => join(scratch, name);

  await makeDocx(at('letter.docx'), ['Dear november']);
  await makePptx(at('deck.pptx'), ['oscar', 'papa']);
  await makeXlsx(at('sheet.xlsx'), [['quebec', 'romeo']]);
  await writeFile(at('table.csv'), 'sierra;tango\n1;2\n');
  await convertWithSoffice([at('letter.docx')], 'odt', scratch);
  await convertWithSoffice([at('deck.pptx')], 'odp', scratch);
  await convertWithSoffice([at('sheet.xlsx')], 'ods', scratch);
  await makeVideo(at('clip.mov'), { container: 'mov', seconds: 2 });
  await makeVideo(at('clip.webm'), { container: 'webm', seconds: 2 });

  service = await startTestService();
  client = new Client(service.url);
}, 180_000);

afterAll(async () => {
  await service.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function convert(
  toolSlug: string,
  name: string,
  contentType: string,
  options: Record<string, unknown> = {},
) {
  const bytes = await readFile(join(scratch, name));
  const created = await client.createJob({
    toolSlug,
    input: fileInput(name, contentType, bytes, options),
  });
  expect(created.status).toBe(201);
  expect((await client.upload(created.body, bytes)).status).toBe(200);
  const job = await client.waitForStatus(created.body.id, [
    'succeeded',
    'failed',
  ]);
  expect(job.failure).toBeNull();
  return (await client.download(job.id)).bytes;
}

describe('office formats through the API', () => {
  it.each([
    ['word-to-pdf', 'letter.odt', `${OFFICE}.text`, 'Dear november'],
    ['slides-to-pdf', 'deck.odp', `${OFFICE}.presentation`, 'oscar'],
    ['spreadsheet-to-pdf', 'sheet.ods', `${OFFICE}.spreadsheet`, 'quebec'],
    [
      'spreadsheet-to-pdf',
      'sheet.xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'romeo',
    ],
  ])('%s converts %s', async (tool, name, type, word) => {
    const pdf = await convert(tool, name, type);
    expect(await pdfText(pdf)).toContain(word);
  });

  it('spreadsheet-to-pdf splits CSV on the given delimiter', async () => {
    const pdf = await convert('spreadsheet-to-pdf', 'table.csv', 'text/csv', {
      csvDelimiter: ';',
    });
    const text = await pdfText(pdf);
    expect(text).toContain('sierra');
    expect(text).not.toContain('sierra;tango');
  });
});

describe('video formats through the API', () => {
  // An MP4 starts with an `ftyp` box after its 4-byte size; a GIF with GIF8.
  it.each([
    ['trim-video', { start: 0, end: 1 }, 4, 'ftyp'],
    ['compress-video', {}, 4, 'ftyp'],
    ['video-to-gif', { duration: 1, fps: 5 }, 0, 'GIF8'],
    ['mute-video', {}, 4, 'ftyp'],
  ])('%s takes QuickTime and WebM', async (tool, options, offset, magic) => {
    for (const [name, type] of [
      ['clip.mov', 'video/quicktime'],
      ['clip.webm', 'video/webm'],
    ] as const) {
      const output = await convert(tool, name, type, options);
      const head = output.subarray(offset, offset + 4).toString('latin1');
      expect(head, `${tool} on ${name}`).toBe(magic);
    }
  });
});
