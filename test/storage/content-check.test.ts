import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  checkContent,
  checkedContentTypes,
  detectContentType,
} from '../../storage/content-check.ts';
import { makeDocx, makePptx, makeXlsx } from '../fixtures/make-office.ts';
import { repackZip } from '../fixtures/make-zip.ts';

let directory: string;
const files: Record<string, string> = {};

/**
 * Builds a one-page PDF whose cross-reference table carries the real byte
 * offsets of its objects, as PDF 1.4 requires.
 */
function minimalPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });

  const xrefOffset = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) {
    body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  }
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\n`;
  body += `startxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

async function save(name: string, data: string | Buffer): Promise<void> {
  files[name] = path.join(directory, name);
  await writeFile(files[name], data);
}

function file(name: string): string {
  const filePath = files[name];
  if (filePath === undefined) throw new Error(`no fixture named ${name}`);
  return filePath;
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'boringkit-content-'));
  const image = sharp({
    create: {
      width: 8,
      height: 8,
      channels: 3,
      background: { r: 200, g: 40, b: 40 },
    },
  });

  await save('image.png', await image.clone().png().toBuffer());
  await save('image.jpg', await image.clone().jpeg().toBuffer());
  await save('image.webp', await image.clone().webp().toBuffer());
  await save('document.pdf', minimalPdf());
  await save('page.html', '<!doctype html>\n<h1>Grüße</h1>\n');
  await save('fragment.html', 'Hello <b>world</b>');
  await save('data.json', '{"items": [1, 2, 3], "name": "Zoë"}');
  await save('bom.json', '\uFEFF{"a": 1}');
  await save('malformed.json', '{"items": [1, 2,}');
  await save('notes.txt', 'Plain text notes.\nSecond line.\n');
  await save('cars.csv', 'BMW,Audi\n1,2\n');
  await save('latin1.html', Buffer.from('<p>caf\xe9</p>', 'latin1'));
  await save('utf16.csv', Buffer.from('\uFEFFa,b\n1,2\n', 'utf16le'));
  await save('nul.txt', Buffer.from('abc\0def'));
  await save('cut.txt', Buffer.from('euro \xe2\x82', 'latin1'));
  await save('empty.png', '');
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('legacy CSV', () => {
  it('accepts Latin-1 bytes declared text/csv', async () => {
    const file = path.join(directory, 'latin1.csv');
    await writeFile(file, Buffer.from('caf\xe9;na\xefve\n1;2\n', 'latin1'));
    expect(await checkContent(file, 'text/csv')).toEqual({ ok: true });
  });

  it('still refuses NUL bytes in CSV', async () => {
    const file = path.join(directory, 'nul.csv');
    await writeFile(file, Buffer.from('a;b\n\0;2\n', 'latin1'));
    const result = await checkContent(file, 'text/csv');
    expect(result.ok).toBe(false);
  });
});

describe('checkContent', () => {
  const passing: [string, string][] = [
    ['image.png', 'image/png'],
    ['image.jpg', 'image/jpeg'],
    ['image.webp', 'image/webp'],
    ['document.pdf', 'application/pdf'],
    ['page.html', 'text/html'],
    ['fragment.html', 'text/html'],
    ['data.json', 'application/json'],
    ['bom.json', 'application/json'],
    ['notes.txt', 'text/plain'],
    ['cars.csv', 'text/csv'],
  ];

  for (const [name, declared] of passing) {
    it(`accepts ${name} as ${declared}`, async () => {
      expect(await checkContent(file(name), declared)).toEqual({ ok: true });
    });
  }

  it('ignores MIME parameters', async () => {
    const result = await checkContent(
      file('page.html'),
      'Text/HTML; charset=utf-8',
    );

    expect(result).toEqual({ ok: true });
  });

  it('rejects text declared image/png', async () => {
    const result = await checkContent(file('notes.txt'), 'image/png');

    expect(result).toEqual({
      ok: false,
      detected: 'text/plain',
      reason: 'bytes look like text/plain, not image/png',
    });
  });

  it('rejects PNG declared image/jpeg', async () => {
    const result = await checkContent(file('image.png'), 'image/jpeg');

    expect(result).toEqual({
      ok: false,
      detected: 'image/png',
      reason: 'bytes look like image/png, not image/jpeg',
    });
  });

  it('rejects PNG declared text/html', async () => {
    const result = await checkContent(file('image.png'), 'text/html');

    expect(result).toEqual({
      ok: false,
      detected: 'image/png',
      reason: 'bytes look like image/png, not text/html',
    });
  });

  it('rejects ASCII PDF declared text/plain', async () => {
    const result = await checkContent(file('document.pdf'), 'text/plain');

    expect(result.ok).toBe(false);
    expect(result).toHaveProperty('detected', 'application/pdf');
  });

  it('rejects invalid UTF-8 as text/html', async () => {
    const result = await checkContent(file('latin1.html'), 'text/html');

    expect(result.ok).toBe(false);
    expect(result).toHaveProperty('detected', undefined);
    expect(result).toHaveProperty(
      'reason',
      expect.stringContaining('not valid UTF-8'),
    );
  });

  it('rejects UTF-16 text as text/csv', async () => {
    const result = await checkContent(file('utf16.csv'), 'text/csv');

    expect(result).toEqual({
      ok: false,
      detected: 'text/plain; charset=utf-16',
      reason:
        'bytes are UTF-16 text, so they are not text/csv; save the file as UTF-8',
    });
  });

  it('rejects NUL bytes in text', async () => {
    const result = await checkContent(file('nul.txt'), 'text/plain');

    expect(result).toEqual({
      ok: false,
      detected: undefined,
      reason:
        'bytes contain a NUL byte at offset 3, so they are not text/plain; ' +
        'save the file as UTF-8',
    });
  });

  it('rejects text cut inside a character', async () => {
    const result = await checkContent(file('cut.txt'), 'text/plain');

    expect(result.ok).toBe(false);
    expect(result).toHaveProperty(
      'reason',
      expect.stringContaining('end inside a UTF-8 character'),
    );
  });

  it('rejects malformed JSON', async () => {
    const result = await checkContent(
      file('malformed.json'),
      'application/json',
    );

    expect(result.ok).toBe(false);
    expect(result).toHaveProperty('detected', 'text/plain');
    expect(result).toHaveProperty(
      'reason',
      expect.stringMatching(/^bytes are not valid JSON: /),
    );
  });

  it('rejects an empty file', async () => {
    for (const declared of ['image/png', 'text/plain']) {
      const result = await checkContent(file('empty.png'), declared);

      expect(result).toEqual({
        ok: false,
        detected: undefined,
        reason: 'file is empty',
      });
    }
  });

  it('throws for an unchecked type', async () => {
    const check = checkContent(file('image.png'), 'image/gif');

    await expect(check).rejects.toThrow(
      'No content check exists for image/gif',
    );
  });

  it('lists every checked type', () => {
    expect(checkedContentTypes).toContain('video/quicktime');
    expect(checkedContentTypes).toContain('text/csv');
  });
});

describe('detectContentType', () => {
  const cases: [string, string | undefined][] = [
    ['image.png', 'image/png'],
    ['image.jpg', 'image/jpeg'],
    ['image.webp', 'image/webp'],
    ['document.pdf', 'application/pdf'],
    ['page.html', 'text/plain'],
    ['cars.csv', 'text/plain'],
    ['latin1.html', undefined],
    ['utf16.csv', 'text/plain; charset=utf-16'],
    ['empty.png', undefined],
  ];

  for (const [name, expected] of cases) {
    it(`detects ${name}`, async () => {
      expect(await detectContentType(file(name))).toBe(expected);
    });
  }
});

describe('office packages', () => {
  const DOCX =
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  const makers: [string, string, (path: string) => Promise<void>][] = [
    ['docx', DOCX, (at) => makeDocx(at, ['Alpha'])],
    [
      'xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      (at) => makeXlsx(at, [['Alpha']]),
    ],
    [
      'pptx',
      'application/vnd.openxmlformats-officedocument.presentationml.presentation',
      (at) => makePptx(at, ['Alpha']),
    ],
  ];

  /** Writes a package with `make`, then rewrites it with ZIP64 headers. */
  async function zip64Package(
    name: string,
    make: (path: string) => Promise<void>,
  ): Promise<string> {
    const plain = path.join(directory, `plain.${name}`);
    const zip64 = path.join(directory, `zip64.${name}`);
    await make(plain);
    await repackZip(plain, zip64, { zip64: true });
    return zip64;
  }

  for (const [name, declared, make] of makers) {
    it(`accepts a ZIP64 ${name}`, async () => {
      const package64 = await zip64Package(name, make);

      expect(await detectContentType(package64)).toBe('application/zip');
      expect(await checkContent(package64, declared)).toEqual({ ok: true });
    });
  }

  it('accepts a DOCX cut short', async () => {
    // [Content_Types].xml last, where LibreOffice writes it, so the cut
    // removes the part by which file-type recognizes a DOCX.
    const lines = Array.from({ length: 600 }, (_, i) => `Line ${i * 37}`);
    const plain = path.join(directory, 'long.docx');
    const whole = path.join(directory, 'whole.docx');
    const cut = path.join(directory, 'cut.docx');
    await makeDocx(plain, lines);
    await repackZip(plain, whole, { lastEntry: '[Content_Types].xml' });
    await writeFile(cut, (await readFile(whole)).subarray(0, 2600));

    expect(await detectContentType(cut)).toBe('application/zip');
    expect(await checkContent(cut, DOCX)).toEqual({ ok: true });
  });

  it('rejects a ZIP64 docx declared image/png', async () => {
    const [name, , make] = makers[0]!;
    const package64 = await zip64Package(name, make);

    expect(await checkContent(package64, 'image/png')).toEqual({
      ok: false,
      detected: 'application/zip',
      reason: 'bytes look like application/zip, not image/png',
    });
  });
});
