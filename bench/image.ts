import sharp from 'sharp';

/**
 * Encodes an RGBA PNG of pseudo-random pixels with an opaque alpha channel.
 * Noise hardly compresses, so with sharp's default PNG settings the file has
 * about 3.4 bytes per pixel, and the JPEG encoder gets real work. The seed is fixed, so every run encodes the
 * same bytes.
 */
export async function makeNoisyPng(
  width: number,
  height: number,
): Promise<Buffer> {
  const channels = 4;
  const pixels = Buffer.alloc(width * height * channels);
  let state = 0x9e3779b9;
  for (let index = 0; index < pixels.length; index++) {
    // xorshift32: fast, deterministic and good enough to defeat deflate.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pixels[index] = index % channels === 3 ? 255 : state & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
}

/**
 * Runs the `image-compress-api` pipeline on a file with the tool's default
 * options (quality 82, white background, no resize): EXIF rotation, flatten,
 * sRGB, mozjpeg. The tool also reads the header first to check the pixel
 * limit, which this baseline leaves out.
 */
export async function compressDirect(
  inputPath: string,
  outputPath: string,
): Promise<void> {
  await sharp(inputPath, { limitInputPixels: 100_000_000 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: 82, mozjpeg: true })
    .toFile(outputPath);
}
