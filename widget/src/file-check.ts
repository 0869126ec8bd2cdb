import type { ToolView } from './api.ts';

interface FileKind {
  label: string;
  extensions: string[];
}

/** Short names and file extensions of the content types tools take. */
const FILE_KINDS: Record<string, FileKind> = {
  'image/png': { label: 'PNG', extensions: ['.png'] },
  'image/jpeg': { label: 'JPEG', extensions: ['.jpg', '.jpeg'] },
  'image/webp': { label: 'WebP', extensions: ['.webp'] },
  'application/pdf': { label: 'PDF', extensions: ['.pdf'] },
  'text/html': { label: 'HTML', extensions: ['.html', '.htm'] },
  'application/json': { label: 'JSON', extensions: ['.json'] },
  'text/csv': { label: 'CSV', extensions: ['.csv'] },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    label: 'DOCX',
    extensions: ['.docx'],
  },
  'application/vnd.oasis.opendocument.text': {
    label: 'ODT',
    extensions: ['.odt'],
  },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    label: 'PPTX',
    extensions: ['.pptx'],
  },
  'application/vnd.oasis.opendocument.presentation': {
    label: 'ODP',
    extensions: ['.odp'],
  },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
    label: 'XLSX',
    extensions: ['.xlsx'],
  },
  'application/vnd.oasis.opendocument.spreadsheet': {
    label: 'ODS',
    extensions: ['.ods'],
  },
  'video/mp4': { label: 'MP4', extensions: ['.mp4', '.m4v'] },
  'video/quicktime': { label: 'QuickTime', extensions: ['.mov'] },
  'video/webm': { label: 'WebM', extensions: ['.webm'] },
};

function label(contentType: string): string {
  return FILE_KINDS[contentType]?.label ?? contentType;
}

/** Lists content types for people: "PNG, JPEG or WebP". */
export function describeTypes(contentTypes: readonly string[]): string {
  const labels = contentTypes.map(label);
  if (labels.length <= 1) return labels.join('');
  return `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`;
}

/** Builds the file input's `accept` value: types and their extensions. */
export function acceptAttribute(contentTypes: readonly string[]): string {
  const extensions = contentTypes.flatMap(
    (type) => FILE_KINDS[type]?.extensions ?? [],
  );
  return [...contentTypes, ...extensions].join(',');
}

const UNITS = ['KB', 'MB', 'GB'];

/** Formats a size in binary units as the service's limits are set: "50 MB". */
export function formatBytes(bytes: number): string {
  // A no-break space keeps the number and its unit on one line.
  if (bytes < 1024) return `${bytes}\u00a0bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = value < 10 && !Number.isInteger(value) ? 1 : 0;
  return `${value.toFixed(digits)}\u00a0${UNITS[unit]}`;
}

export type FileCheck =
  | { ok: true; contentType: string }
  | {
      ok: false;
      code: 'FILE_TYPE_NOT_ACCEPTED' | 'FILE_TOO_LARGE' | 'FILE_EMPTY';
      message: string;
    };

/**
 * Checks a chosen file against the tool's accepted types and size limit
 * before anything is sent. The browser's type comes first. When it is
 * missing or not accepted, the file's extension decides, because browsers
 * report some types inconsistently, such as CSV as
 * application/vnd.ms-excel on Windows with Excel installed.
 */
export function checkFile(
  file: { name: string; type: string; size: number },
  tool: ToolView,
): FileCheck {
  const accepted = tool.input.contentTypes;
  const extension = file.name.toLowerCase().match(/\.[^.]+$/)?.[0];
  const byExtension = accepted.find(
    (type) =>
      extension !== undefined &&
      (FILE_KINDS[type]?.extensions ?? []).includes(extension),
  );
  const contentType = accepted.includes(file.type) ? file.type : byExtension;
  if (contentType === undefined) {
    return {
      ok: false,
      code: 'FILE_TYPE_NOT_ACCEPTED',
      message:
        `"${file.name}" (${file.type || 'unknown type'}) is not a type that ` +
        `${tool.title} takes. Choose a ${describeTypes(accepted)} file.`,
    };
  }

  const limit = tool.input.maxSizeBytes;
  if (file.size > limit) {
    // Sizes just over the limit round to the limit, so those show in bytes.
    const roundsEqual = formatBytes(file.size) === formatBytes(limit);
    const size = roundsEqual ? `${file.size} bytes` : formatBytes(file.size);
    const max = roundsEqual ? `${limit} bytes` : formatBytes(limit);
    return {
      ok: false,
      code: 'FILE_TOO_LARGE',
      message:
        `"${file.name}" is ${size}, over the ${max} limit of ` +
        `${tool.title}. Choose a smaller file.`,
    };
  }
  if (file.size === 0) {
    return {
      ok: false,
      code: 'FILE_EMPTY',
      message: `"${file.name}" is empty. Choose a file with content.`,
    };
  }
  return { ok: true, contentType };
}
