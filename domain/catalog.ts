import { z } from 'zod';

/** The engine a tool runs on; availability is probed per engine. */
export type Engine = 'sharp' | 'chromium' | 'pdfjs' | 'libreoffice' | 'ffmpeg';

export interface ToolDefinition {
  slug: string;
  title: string;
  description: string;
  engine: Engine;
  /** False while the tool has no implementation, so it is listed unavailable. */
  implemented: boolean;
  input: {
    contentTypes: readonly string[];
    maxSizeBytes: number;
    /** Whether `input.kind: "text"` is accepted. */
    inlineText: boolean;
  };
  output: { contentType: string };
  /** Tool-specific limits beyond the input size, such as pixels or pages. */
  limits: Record<string, number>;
  options: z.ZodType<Record<string, unknown>>;
  credits: number;
  maxAttempts: number;
  deadlineSeconds: number;
  /** How long inputs and outputs are kept after the job finishes. */
  retentionSeconds: number;
}

const MB = 1024 * 1024;
const DAY = 24 * 60 * 60;

// Four digits cover every margin that leaves room on a Tabloid page; a
// margin too large for the chosen page still fails as invalid_options.
const cssLength = z
  .string()
  .regex(
    /^\d{1,4}(\.\d{1,3})?(px|in|cm|mm)$/,
    'a CSS length of at most four digits in px, in, cm or mm, such as "10mm"',
  );

const hexColor = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb, such as "#ffffff"');

const dimension = z.number().int().min(1).max(16_384);

export const imageCompressOptions = z.strictObject({
  quality: z.number().int().min(1).max(100).default(82),
  maxWidth: dimension.optional(),
  maxHeight: dimension.optional(),
  background: hexColor.default('#ffffff'),
});

export const htmlToPdfOptions = z.strictObject({
  format: z
    .enum(['A3', 'A4', 'A5', 'Letter', 'Legal', 'Tabloid'])
    .default('A4'),
  landscape: z.boolean().default(false),
  printBackground: z.boolean().default(true),
  margin: z
    .strictObject({
      top: cssLength.optional(),
      right: cssLength.optional(),
      bottom: cssLength.optional(),
      left: cssLength.optional(),
    })
    .default({}),
});

export const pdfToTextOptions = z.strictObject({});

/** Reports whether every span of a valid range runs forwards from page 1. */
function spansRunForwards(range: string): boolean {
  return range.split(',').every((span) => {
    const [first = 0, last = first] = span.split('-').map(Number);
    return first >= 1 && first <= last;
  });
}

const pageRange = z
  .string()
  .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'pages such as "1-3,7"')
  .refine(
    spansRunForwards,
    'Use pages numbered from 1, each span from its first page to the same ' +
      'or a later one, such as "1-3,7"',
  );

const pdfIn = ['application/pdf'];
const videoIn = ['video/mp4', 'video/quicktime', 'video/webm'];
/** Maximum input duration of the video tools, in seconds. */
const MAX_VIDEO_SECONDS = 3_600;

const seconds = z
  .number()
  .min(0)
  .max(
    MAX_VIDEO_SECONDS,
    `Use at most ${MAX_VIDEO_SECONDS} seconds, the longest video the tools ` +
      'take',
  );

/**
 * Checks whether TextDecoder, which implements the WHATWG Encoding Standard,
 * supports the encoding label `name`.
 */
function isKnownEncoding(name: string): boolean {
  try {
    new TextDecoder(name);
    return true;
  } catch {
    return false;
  }
}

/** Options of `spreadsheet-to-pdf`. The CSV options apply to CSV input only. */
export const spreadsheetToPdfOptions = z.strictObject({
  landscape: z.boolean().default(false),
  fitToWidth: z.boolean().default(false),
  csvDelimiter: z.string().length(1).optional(),
  csvEncoding: z
    .string()
    .min(1)
    .max(40)
    .refine(isKnownEncoding, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a known character set. Use ` +
        'a name such as UTF-8, ISO-8859-1, windows-1252 or Shift_JIS',
    })
    .optional(),
});

/**
 * Options of `trim-video`. The checks against the video's own duration run
 * in the tool, once the file is there.
 */
export const trimVideoOptions = z
  .strictObject({
    start: seconds.default(0),
    end: seconds.optional(),
    duration: z
      .number()
      .gt(
        0,
        'duration must be more than 0 seconds. Omit it to keep the video ' +
          'up to its end',
      )
      .optional(),
    frameAccurate: z.boolean().default(false),
  })
  .superRefine((options, context) => {
    const { start, end, duration } = options;
    if (end !== undefined && duration !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['duration'],
        message: 'Set either end or duration, not both. Remove one of them',
      });
    }
    if (end !== undefined && end <= start) {
      context.addIssue({
        code: 'custom',
        path: ['end'],
        message:
          `end (${end} s) must be after start (${start} s). Set a later ` +
          'end or an earlier start',
      });
    }
  });

export const compressVideoOptions = z.strictObject({
  crf: z.number().int().min(18).max(40).default(28),
  maxHeight: z.number().int().min(144).max(2_160).optional(),
});

/** Longest GIF that `video-to-gif` makes, in seconds. */
const MAX_GIF_SECONDS = 15;

export const videoToGifOptions = z.strictObject({
  start: seconds.default(0),
  duration: z
    .number()
    .gt(
      0,
      'duration must be more than 0 seconds. Set a duration of up to ' +
        `${MAX_GIF_SECONDS} seconds`,
    )
    .max(
      MAX_GIF_SECONDS,
      `duration may be at most ${MAX_GIF_SECONDS} seconds. Set a shorter ` +
        'duration, or convert the video in several parts',
    )
    .default(5),
  fps: z.number().int().min(1).max(30).default(10),
  width: z.number().int().min(16).max(1_280).default(480),
});

function tool(
  definition: Omit<ToolDefinition, 'limits'> & {
    limits?: Record<string, number>;
  },
): ToolDefinition {
  return { limits: {}, ...definition };
}

/** Every tool of the service, in catalog order. */
export const tools: readonly ToolDefinition[] = [
  tool({
    slug: 'html-to-pdf-api',
    title: 'HTML to PDF',
    description:
      'Renders an HTML page to PDF in Chromium with every network request ' +
      'blocked. Input is HTML text, an .html file, or JSON {"html": "..."}.',
    engine: 'chromium',
    implemented: true,
    input: {
      contentTypes: ['text/html', 'application/json'],
      maxSizeBytes: 5 * MB,
      inlineText: true,
    },
    output: { contentType: 'application/pdf' },
    limits: { maxPages: 500 },
    options: htmlToPdfOptions,
    credits: 2,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'word-to-pdf',
    title: 'Word to PDF',
    description: 'Converts DOCX and ODT documents to PDF.',
    engine: 'libreoffice',
    implemented: true,
    input: {
      contentTypes: [
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        'application/vnd.oasis.opendocument.text',
      ],
      maxSizeBytes: 50 * MB,
      inlineText: false,
    },
    output: { contentType: 'application/pdf' },
    options: z.strictObject({}),
    credits: 2,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'slides-to-pdf',
    title: 'Slides to PDF',
    description: 'Converts PPTX and ODP presentations to PDF, a page a slide.',
    engine: 'libreoffice',
    implemented: true,
    input: {
      contentTypes: [
        'application/vnd.openxmlformats-officedocument.presentationml.presentation',
        'application/vnd.oasis.opendocument.presentation',
      ],
      maxSizeBytes: 100 * MB,
      inlineText: false,
    },
    output: { contentType: 'application/pdf' },
    options: z.strictObject({}),
    credits: 2,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'spreadsheet-to-pdf',
    title: 'Spreadsheet to PDF',
    description: 'Converts XLSX, ODS and CSV spreadsheets to PDF.',
    engine: 'libreoffice',
    implemented: true,
    input: {
      contentTypes: [
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'application/vnd.oasis.opendocument.spreadsheet',
        'text/csv',
      ],
      maxSizeBytes: 50 * MB,
      inlineText: false,
    },
    output: { contentType: 'application/pdf' },
    options: spreadsheetToPdfOptions,
    credits: 2,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'pdf-to-images-zip',
    title: 'PDF to images (ZIP)',
    description:
      'Renders the selected pages (`pages`, such as "1-3,7") to PNGs at ' +
      '`dpi` (72 to 300, default 150), named page-001.png and so on, in ' +
      'one ZIP. The pixel total is checked against `maxTotalPixels` ' +
      'before rendering.',
    engine: 'pdfjs',
    implemented: true,
    input: { contentTypes: pdfIn, maxSizeBytes: 100 * MB, inlineText: false },
    output: { contentType: 'application/zip' },
    limits: { maxPages: 500, maxTotalPixels: 500_000_000 },
    options: z.strictObject({
      dpi: z.number().int().min(72).max(300).default(150),
      pages: pageRange.optional(),
    }),
    credits: 2,
    maxAttempts: 3,
    deadlineSeconds: 600,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'pdf-to-text',
    title: 'PDF to text',
    description:
      'Extracts the text layer of a PDF as UTF-8, a form feed between ' +
      'pages. Pages without a text layer are listed in the output ' +
      'metadata; they are not OCRed.',
    engine: 'pdfjs',
    implemented: true,
    input: { contentTypes: pdfIn, maxSizeBytes: 100 * MB, inlineText: false },
    output: { contentType: 'text/plain; charset=utf-8' },
    limits: { maxPages: 2_000 },
    options: pdfToTextOptions,
    credits: 1,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'pdf-to-markdown',
    title: 'PDF to Markdown',
    description:
      'Converts the text layer of a PDF to Markdown: headings from font ' +
      'size and bold fonts, paragraphs joined across line breaks, lists ' +
      'with a text marker (•, -, *, 1.), `---` between pages. The ' +
      "metadata's `score` is pagesWithText / pages (0 to 1), the share of " +
      'pages with a text layer; it does not measure how well headings or ' +
      'lists were recognised. Pages without text are listed in ' +
      '`pagesWithoutText` and are not OCRed.',
    engine: 'pdfjs',
    implemented: true,
    input: { contentTypes: pdfIn, maxSizeBytes: 100 * MB, inlineText: false },
    output: { contentType: 'text/markdown; charset=utf-8' },
    limits: { maxPages: 2_000 },
    options: z.strictObject({}),
    credits: 1,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'pdf-to-docx',
    title: 'PDF to DOCX',
    description:
      'Converts the text layer of a PDF to a text-only DOCX with ' +
      'headings, paragraphs and lists, and a page break between PDF pages.',
    engine: 'pdfjs',
    implemented: true,
    input: { contentTypes: pdfIn, maxSizeBytes: 100 * MB, inlineText: false },
    output: {
      contentType:
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    },
    limits: { maxPages: 2_000 },
    options: z.strictObject({}),
    credits: 2,
    maxAttempts: 3,
    deadlineSeconds: 300,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'image-compress-api',
    title: 'Compress image',
    description:
      'Re-encodes a PNG, JPEG or WebP image as a JPEG: EXIF orientation ' +
      'applied, metadata stripped, transparency flattened onto ' +
      '`background`, sRGB output, optionally resized to fit ' +
      '`maxWidth` x `maxHeight`.',
    engine: 'sharp',
    implemented: true,
    input: {
      contentTypes: ['image/png', 'image/jpeg', 'image/webp'],
      maxSizeBytes: 50 * MB,
      inlineText: false,
    },
    output: { contentType: 'image/jpeg' },
    limits: { maxPixels: 100_000_000 },
    options: imageCompressOptions,
    credits: 1,
    maxAttempts: 3,
    deadlineSeconds: 120,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'trim-video',
    title: 'Trim video',
    description:
      'Cuts a video to `start` and `end` (or `duration`) in seconds. ' +
      '`end` must be after `start`, and only one of `end` and `duration` ' +
      'may be set. A stream copy cuts on the keyframe at or before ' +
      '`start`; `frameAccurate` re-encodes for an exact cut.',
    engine: 'ffmpeg',
    implemented: true,
    input: {
      contentTypes: videoIn,
      maxSizeBytes: 1024 * MB,
      inlineText: false,
    },
    output: { contentType: 'video/mp4' },
    limits: { maxDurationSeconds: MAX_VIDEO_SECONDS, maxHeight: 2_160 },
    options: trimVideoOptions,
    credits: 3,
    maxAttempts: 2,
    deadlineSeconds: 1_800,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'compress-video',
    title: 'Compress video',
    description:
      'Re-encodes a video as H.264/AAC MP4. When that makes the file larger ' +
      'and the input is H.264 with AAC or no audio at its size, the streams ' +
      'are copied into the MP4 instead (metadata streamCopy and note).',
    engine: 'ffmpeg',
    implemented: true,
    input: {
      contentTypes: videoIn,
      maxSizeBytes: 1024 * MB,
      inlineText: false,
    },
    output: { contentType: 'video/mp4' },
    limits: { maxDurationSeconds: MAX_VIDEO_SECONDS, maxHeight: 2_160 },
    options: compressVideoOptions,
    credits: 5,
    maxAttempts: 2,
    deadlineSeconds: 3_600,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'video-to-gif',
    title: 'Video to GIF',
    description:
      `Turns up to ${MAX_GIF_SECONDS} seconds of a video into an ` +
      'animated GIF.',
    engine: 'ffmpeg',
    implemented: true,
    input: {
      contentTypes: videoIn,
      maxSizeBytes: 1024 * MB,
      inlineText: false,
    },
    output: { contentType: 'image/gif' },
    limits: { maxDurationSeconds: MAX_VIDEO_SECONDS, maxHeight: 2_160 },
    options: videoToGifOptions,
    credits: 3,
    maxAttempts: 2,
    deadlineSeconds: 900,
    retentionSeconds: DAY,
  }),
  tool({
    slug: 'mute-video',
    title: 'Mute video',
    description:
      'Removes the audio of a video. H.264, HEVC, MPEG-4 and AV1 video is ' +
      'copied without re-encoding; other codecs, such as the VP8 and VP9 ' +
      'of WebM, are re-encoded as H.264.',
    engine: 'ffmpeg',
    implemented: true,
    input: {
      contentTypes: videoIn,
      maxSizeBytes: 1024 * MB,
      inlineText: false,
    },
    output: { contentType: 'video/mp4' },
    limits: { maxDurationSeconds: MAX_VIDEO_SECONDS, maxHeight: 2_160 },
    options: z.strictObject({}),
    credits: 1,
    maxAttempts: 2,
    deadlineSeconds: 900,
    retentionSeconds: DAY,
  }),
];

const bySlug = new Map(
  tools.map((definition) => [definition.slug, definition]),
);

export function findTool(slug: string): ToolDefinition | undefined {
  return bySlug.get(slug);
}

/** Returns a limit of a tool, or throws when the catalog lacks it. */
export function toolLimit(slug: string, name: string): number {
  const limit = bySlug.get(slug)?.limits[name];
  if (limit === undefined) {
    throw new Error(`The catalog has no ${name} limit for ${slug}.`);
  }
  return limit;
}
