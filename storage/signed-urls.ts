import { createHmac, timingSafeEqual } from 'node:crypto';

export type BlobAccess = 'input' | 'output';

/**
 * HMAC-SHA256 signed, expiring URLs for a job's input upload (PUT) and
 * output download (GET), served by the API itself. The signature covers the
 * method, job, blob and expiry, so a URL cannot be reused for anything else.
 */
export class UrlSigner {
  /** `publicUrl` is read at signing time, after the server has bound its port. */
  constructor(
    private readonly secret: string,
    private readonly publicUrl: () => string,
  ) {}

  uploadUrl(jobId: string, expiresAt: string): string {
    return this.sign('PUT', jobId, 'input', expiresAt);
  }

  downloadUrl(jobId: string, expiresAt: string): string {
    return this.sign('GET', jobId, 'output', expiresAt);
  }

  /** Whether `signature` matches; expiry is checked by the caller. */
  verify(
    method: 'PUT' | 'GET',
    jobId: string,
    blob: BlobAccess,
    expires: string,
    signature: string,
  ): boolean {
    const expected = this.signature(method, jobId, blob, expires);
    const given = Buffer.from(signature, 'utf8');
    return (
      given.length === expected.length &&
      timingSafeEqual(given, Buffer.from(expected, 'utf8'))
    );
  }

  private sign(
    method: 'PUT' | 'GET',
    jobId: string,
    blob: BlobAccess,
    expiresAt: string,
  ): string {
    const expires = String(Math.floor(Date.parse(expiresAt) / 1000));
    const url = new URL(`/blobs/jobs/${jobId}/${blob}`, this.publicUrl());
    url.searchParams.set('expires', expires);
    url.searchParams.set(
      'signature',
      this.signature(method, jobId, blob, expires),
    );
    return url.toString();
  }

  private signature(
    method: string,
    jobId: string,
    blob: BlobAccess,
    expires: string,
  ): string {
    return createHmac('sha256', this.secret)
      .update(`${method}\n${jobId}\n${blob}\n${expires}`)
      .digest('base64url');
  }
}
