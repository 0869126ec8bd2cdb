import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.ts';
import { fileInput, htmlPages, makePng } from '../support/fixtures.ts';
import { pdfPageCount, pdfText } from '../support/poppler.ts';
import { startTestService, type TestService } from '../support/service.ts';

let service: TestService;
let client: Client;

beforeAll(async () => {
  service = await startTestService();
  client = new Client(service.url);
});
afterAll(() => service.stop());

async function runJob(body: unknown, upload?: Buffer) {
  const created = await client.createJob(body);
  expect(created.status).toBe(201);
  if (upload)
    expect((await client.upload(created.body, upload)).status).toBe(200);
  const finished = await client.waitForStatus(created.body.id, [
    'succeeded',
    'failed',
    'canceled',
  ]);
  return finished;
}

describe('image-compress-api end to end', () => {
  it('turns a PNG into a smaller JPEG', async () => {
    const png = await makePng(800, 600);
    const job = await runJob(
      {
        toolSlug: 'image-compress-api',
        input: fileInput('noise.png', 'image/png', png, { quality: 60 }),
      },
      png,
    );
    expect(job.status).toBe('succeeded');
    expect(job.output.contentType).toBe('image/jpeg');
    expect(job.output.name).toBe('noise.jpg');

    const { bytes, response } = await client.download(job.id);
    expect(response.headers.get('content-disposition')).toContain('attachment');
    const metadata = await sharp(bytes).metadata();
    expect(metadata.format).toBe('jpeg');
    expect(metadata.width).toBe(800);
    expect(metadata.height).toBe(600);
    expect(bytes.length).toBeLessThan(png.length);
    expect(bytes.length).toBe(job.output.sizeBytes);
    expect(job.output.metadata.width).toBe(800);
  });

  it('resizes within maxWidth', async () => {
    const png = await makePng(400, 200);
    const job = await runJob(
      {
        toolSlug: 'image-compress-api',
        input: fileInput('wide.png', 'image/png', png, { maxWidth: 100 }),
      },
      png,
    );
    const { bytes } = await client.download(job.id);
    const metadata = await sharp(bytes).metadata();
    expect(metadata.width).toBe(100);
    expect(metadata.height).toBe(50);
  });
});

describe('html-to-pdf-api end to end', () => {
  it('renders inline HTML to a PDF with its pages and text', async () => {
    const job = await runJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: htmlPages(['alpha', 'bravo', 'charlie']),
        options: {},
      },
    });
    expect(job.status).toBe('succeeded');
    expect(job.output.metadata.pages).toBe(3);
    const { bytes } = await client.download(job.id);
    expect(await pdfPageCount(bytes)).toBe(3);
    const text = await pdfText(bytes);
    expect(text).toContain('alpha');
    expect(text).toContain('charlie');
  });

  it('renders an uploaded JSON payload', async () => {
    const payload = Buffer.from(
      JSON.stringify({ html: '<p>from json delta</p>' }),
    );
    const job = await runJob(
      {
        toolSlug: 'html-to-pdf-api',
        input: fileInput('page.json', 'application/json', payload),
      },
      payload,
    );
    expect(job.status).toBe('succeeded');
    const { bytes } = await client.download(job.id);
    expect(await pdfText(bytes)).toContain('from json delta');
  });
});

describe('other pdf.js tools end to end', () => {
  let pdf: Buffer;

  beforeAll(async () => {
    const html = await runJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: htmlPages(['golf', 'hotel']),
        options: {},
      },
    });
    pdf = (await client.download(html.id)).bytes;
  });

  it('pdf-to-markdown finds headings and pages', async () => {
    const job = await runJob(
      {
        toolSlug: 'pdf-to-markdown',
        input: fileInput('two.pdf', 'application/pdf', pdf),
      },
      pdf,
    );
    expect(job.status).toBe('succeeded');
    expect(job.output.metadata.score).toBe(1);
    const markdown = (await client.download(job.id)).bytes.toString('utf8');
    expect(markdown).toMatch(/^# golf$/m);
    expect(markdown).toMatch(/^# hotel$/m);
    expect(markdown).toContain('\n---\n');
  });

  it('pdf-to-images-zip makes one PNG a page', async () => {
    const job = await runJob(
      {
        toolSlug: 'pdf-to-images-zip',
        input: fileInput('two.pdf', 'application/pdf', pdf, { dpi: 72 }),
      },
      pdf,
    );
    expect(job.status).toBe('succeeded');
    expect(job.output.metadata.images).toHaveLength(2);
    const { bytes } = await client.download(job.id);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
  });

  it('pdf-to-docx makes a DOCX with the words', async () => {
    const job = await runJob(
      {
        toolSlug: 'pdf-to-docx',
        input: fileInput('two.pdf', 'application/pdf', pdf),
      },
      pdf,
    );
    expect(job.status).toBe('succeeded');
    expect(job.output.contentType).toContain('wordprocessingml');
    const { bytes } = await client.download(job.id);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
  });
});

describe('pdf-to-text end to end', () => {
  it('extracts the words of every page', async () => {
    const html = await runJob({
      toolSlug: 'html-to-pdf-api',
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: htmlPages(['echo', 'foxtrot']),
        options: {},
      },
    });
    const { bytes: pdf } = await client.download(html.id);

    const job = await runJob(
      {
        toolSlug: 'pdf-to-text',
        input: fileInput('two.pdf', 'application/pdf', pdf),
      },
      pdf,
    );
    expect(job.status).toBe('succeeded');
    expect(job.output.metadata.pages).toBe(2);
    const { bytes } = await client.download(job.id);
    const pages = bytes.toString('utf8').split('\f');
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain('echo');
    expect(pages[1]).toContain('foxtrot');
  });
});
