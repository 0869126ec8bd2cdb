/** SigV4 presigned URLs are valid for at most 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;
/** The largest object S3 accepts in a single PutObject: 5 GiB. */
const MAX_PUT_BYTES = 5 * 1024 ** 3;

/**
 * Builds an RFC 6266 attachment header: `filename` is an ASCII fallback
 * with other characters replaced by `_`, and `filename*` is the exact name
 * in UTF-8, percent-encoded as RFC 8187 requires.
 */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName.toWellFormed()).replace(
    /['()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Returns whole seconds from now until `expiresAt`, within SigV4's limit. */
export function presignSeconds(expiresAt: Date): number {
  const milliseconds = expiresAt.getTime() - Date.now();
  if (Number.isNaN(milliseconds)) {
    throw new Error('Invalid presigned URL expiry: the date is invalid');
  }

  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < 1) {
    throw new Error(
      `Invalid presigned URL expiry ${expiresAt.toISOString()}: it is not ` +
        `in the future. Pass a later date.`,
    );
  }
  if (seconds > MAX_PRESIGN_SECONDS) {
    throw new Error(
      `Invalid presigned URL expiry ${expiresAt.toISOString()}: S3 ` +
        `presigned URLs expire at most 7 days (${MAX_PRESIGN_SECONDS} s) ` +
        `after they are signed`,
    );
  }
  return seconds;
}

export function validateContentType(contentType: string): void {
  if (!/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(contentType)) {
    throw new Error(
      `Invalid content type ${JSON.stringify(contentType.slice(0, 100))}: ` +
        `use a media type of printable ASCII such as application/pdf`,
    );
  }
}

export function validateUploadSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
    throw new Error(
      `Invalid upload size ${sizeBytes}: use a whole number of bytes`,
    );
  }
  if (sizeBytes > MAX_PUT_BYTES) {
    throw new Error(
      `Invalid upload size ${sizeBytes}: S3 accepts at most ` +
        `${MAX_PUT_BYTES} bytes (5 GiB) in one PUT`,
    );
  }
}
