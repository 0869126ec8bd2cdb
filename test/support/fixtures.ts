import sharp from 'sharp';

/** Makes a noisy RGBA PNG, so the JPEG encoder has real work to do. */
export async function makePng(width: number, height: number): Promise<Buffer> {
  const channels = 4;
  const pixels = Buffer.alloc(width * height * channels);
  let seed = 42;
  for (let index = 0; index < pixels.length; index++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pixels[index] = index % 4 === 3 ? 255 : (seed >> 16) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
}

export function htmlPages(words: string[]): string {
  const sections = words
    .map(
      (word) => `<section><h1>${word}</h1><p>Page about ${word}.</p></section>`,
    )
    .join('');
  const style = '<style>section + section { break-before: page; }</style>';
  return `<!doctype html><html><head>${style}</head><body>${sections}</body></html>`;
}

export function fileInput(
  name: string,
  contentType: string,
  bytes: Buffer,
  options: Record<string, unknown> = {},
) {
  return { kind: 'file', name, contentType, sizeBytes: bytes.length, options };
}
