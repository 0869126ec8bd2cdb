import { type DomainError, errors } from '../domain/errors.ts';
import { checkContent } from '../storage/content-check.ts';

// The rejections of an upload, shared by the API's own upload route and the
// check of presigned uploads, so a client that lies gets the same error
// message from either.

/** Refuses an upload of `received` bytes when the job declared another size. */
export function sizeProblem(
  received: number,
  declared: number,
): DomainError | undefined {
  if (received > declared) {
    return errors.uploadTooLong(
      `The upload has ${received} bytes, more than the declared ${declared}. ` +
        'PUT exactly input.sizeBytes bytes, or create a job with the real size.',
    );
  }
  if (received < declared) {
    return errors.uploadTooShort(
      `The upload ended after ${received} of the declared ${declared} ` +
        'bytes. PUT the whole file.',
    );
  }
  return undefined;
}

/** Refuses an uploaded file whose bytes are not of the declared type. */
export async function contentProblem(
  path: string,
  declaredType: string,
): Promise<DomainError | undefined> {
  const check = await checkContent(path, declaredType);
  if (check.ok) return undefined;
  return errors.uploadContentInvalid(
    `The uploaded bytes are not ${declaredType}: ${check.reason}. ` +
      'Upload a real file of the declared type.',
  );
}
