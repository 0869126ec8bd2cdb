import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageCompressRunner } from '../../workers/tools/image-compress.ts';
import type { ToolRunContext } from '../../workers/tool.ts';

let root: string;
const runner = createImageCompressRunner();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'image-compress-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface TestRun {
  context: ToolRunContext;
  controller: AbortController;
}

async function makeRun(
  name: string,
  bytes: Buffer,
  options: Record<string, unknown> = {},
): Promise<TestRun> {
  const inputPath = join(root, name);
  await writeFile(inputPath, bytes);
  const controller = new AbortController();
  const context: ToolRunContext = {
    jobId: 'job_test',
    attempt: 1,
    input: {
      kind: 'file',
      name,
      contentType: 'image/png',
      sizeBytes: bytes.length,
    },
    inputPath,
    options: { quality: 82, background: '#ffffff', ...options },
    workDir: await mkdtemp(join(root, 'work-')),
    signal: controller.signal,
    reportProgress: () => undefined,
    logger: pino({ level: 'silent' }),
  };
  return { context, controller };
}

/** Encodes a noisy gradient as PNG, which stores it larger than JPEG. */
function photoLikePng(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const offset = (y * width + x) * 3;
      const noise = (x * 7919 + y * 104_729) % 17;
      pixels[offset] = ((x * 255) / width + noise) & 0xff;
      pixels[offset + 1] = ((y * 255) / height + noise) & 0xff;
      pixels[offset + 2] = (((x + y) * 255) / (width + height)) & 0xff;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, checksum]);
}

/**
 * Builds a valid 1-bit greyscale PNG of `size` x `size` black pixels.
 * All-zero rows deflate to almost nothing, so 144 megapixels take 18 KB.
 */
function pixelBombPng(size: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(size / 8); // a filter byte, then the pixels
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([
    signature,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(rowBytes * size), { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

async function pixelAt(path: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(path)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [...data.subarray(offset, offset + 3)];
}

function expectColourNear(actual: number[], expected: number[]): void {
  expected.forEach((channel, index) => {
    expect(Math.abs((actual[index] ?? -1) - channel)).toBeLessThanOrEqual(4);
  });
}

describe('image-compress', () => {
  it('compresses a PNG at the same size', async () => {
    const png = await photoLikePng(2000, 1500);
    const { context } = await makeRun('photo.png', png);

    const output = await runner.run(context);
    const result = await sharp(output.path).metadata();

    expect(result.format).toBe('jpeg');
    expect(result.width).toBe(2000);
    expect(result.height).toBe(1500);
    expect(output.metadata.outputBytes).toBeLessThan(png.length);
    expect(output.metadata).toMatchObject({
      width: 2000,
      height: 1500,
      inputBytes: png.length,
      inputFormat: 'png',
    });
    expect(output.name).toBe('photo.jpg');
    expect(output.contentType).toBe('image/jpeg');
  });

  it('resizes to fit maxWidth', async () => {
    const png = await photoLikePng(800, 600);
    const { context } = await makeRun('wide.png', png, { maxWidth: 400 });

    const output = await runner.run(context);

    expect(output.metadata.width).toBe(400);
    expect(output.metadata.height).toBe(300);
  });

  it('never enlarges', async () => {
    const png = await photoLikePng(300, 200);
    const { context } = await makeRun('small.png', png, {
      maxWidth: 3000,
      maxHeight: 3000,
    });

    const output = await runner.run(context);

    expect(output.metadata.width).toBe(300);
    expect(output.metadata.height).toBe(200);
  });

  it('applies EXIF orientation 6', async () => {
    // Stored 300 x 200 with a red top-left corner. Orientation 6 means
    // "rotate 90 degrees clockwise to display", which moves it top-right.
    const red = await sharp({
      create: { width: 50, height: 50, channels: 3, background: '#ff0000' },
    })
      .png()
      .toBuffer();
    const jpeg = await sharp({
      create: { width: 300, height: 200, channels: 3, background: '#0000ff' },
    })
      .composite([{ input: red, left: 0, top: 0 }])
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const { context } = await makeRun('rotated.jpg', jpeg);

    const output = await runner.run(context);

    expect(output.metadata.width).toBe(200);
    expect(output.metadata.height).toBe(300);
    expectColourNear(await pixelAt(output.path, 190, 10), [255, 0, 0]);
    expectColourNear(await pixelAt(output.path, 10, 10), [0, 0, 255]);
  });

  it('strips EXIF', async () => {
    const jpeg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: '#808080' },
    })
      .jpeg()
      .withExif({ IFD0: { Copyright: 'Example Corp', Orientation: '1' } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const { context } = await makeRun('tagged.jpg', jpeg);

    const output = await runner.run(context);
    const result = await sharp(output.path).metadata();

    expect(result.exif).toBeUndefined();
    expect(result.orientation).toBeUndefined();
  });

  it('flattens transparency onto white', async () => {
    const png = await sharp({
      create: { width: 64, height: 64, channels: 4, background: '#00000000' },
    })
      .png()
      .toBuffer();
    const { context } = await makeRun('clear.png', png);

    const output = await runner.run(context);

    expectColourNear(await pixelAt(output.path, 32, 32), [255, 255, 255]);
  });

  it('flattens onto a given background', async () => {
    const png = await sharp({
      create: { width: 64, height: 64, channels: 4, background: '#00000000' },
    })
      .png()
      .toBuffer();
    const { context } = await makeRun('clear-red.png', png, {
      background: '#ff0000',
    });

    const output = await runner.run(context);

    expectColourNear(await pixelAt(output.path, 32, 32), [255, 0, 0]);
  });

  it('rejects a pixel bomb before decoding', async () => {
    // 144 megapixels: above the catalog's 100 million but below sharp's own
    // default limit, so only the tool's limit can reject it.
    const { context } = await makeRun('bomb.png', pixelBombPng(12_000));

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'pixel_limit_exceeded' });
    expect((error as Error).message).toContain('144,000,000 pixels');
    expect((error as Error).message).toContain('100,000,000 pixels');
    await expect(access(join(context.workDir, 'output.jpg'))).rejects.toThrow();
  });

  it('rejects a text file as invalid_input', async () => {
    const { context } = await makeRun(
      'notes.png',
      Buffer.from('plain text, not an image\n'),
    );

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('rejects a GIF as invalid_input', async () => {
    const gif = await sharp({
      create: { width: 32, height: 32, channels: 3, background: '#00ff00' },
    })
      .gif()
      .toBuffer();
    const { context } = await makeRun('animation.gif', gif);

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toContain('gif');
  });

  it('rejects a truncated PNG as invalid_input', async () => {
    const png = await photoLikePng(300, 300);
    const { context } = await makeRun('cut.png', png.subarray(0, 2_000));

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'invalid_input' });
  });

  it('reports a cut PNG header cleanly', async () => {
    // The signature and part of IHDR: sharp finds no image header.
    const png = await photoLikePng(100, 100);
    const { context } = await makeRun('header.png', png.subarray(0, 20));

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toBe(
      'The file is not a readable PNG, JPEG or WebP image (Input file has ' +
        'corrupt header). Upload the whole file, or export it again as ' +
        'PNG, JPEG or WebP.',
    );
  });

  it('reports a cut JPEG on one line', async () => {
    const jpeg = await sharp({
      create: { width: 64, height: 64, channels: 3, background: '#808080' },
    })
      .jpeg()
      .toBuffer();
    const { context } = await makeRun('cut.jpg', jpeg.subarray(0, 100));

    const error = await runner.run(context).catch((caught: unknown) => caught);
    const message = (error as Error).message;

    expect(error).toMatchObject({ code: 'invalid_input' });
    expect(message).not.toContain('\n');
    expect(message.split('premature end of JPEG image')).toHaveLength(2);
    expect(message).not.toMatch(/[:;,]\)/);
  });

  it('rejects an aborted signal', async () => {
    const png = await photoLikePng(100, 100);
    const { context, controller } = await makeRun('aborted.png', png);
    controller.abort();

    await expect(runner.run(context)).rejects.toMatchObject({
      name: 'AbortError',
    });
    await expect(access(join(context.workDir, 'output.jpg'))).rejects.toThrow();
  });
});
