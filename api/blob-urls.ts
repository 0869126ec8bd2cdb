import type { JobState } from '../domain/job-state.ts';
import {
  outputKey,
  uploadKey,
  type PresignedBlobStorage,
} from '../storage/port.ts';
import type { UrlSigner } from '../storage/signed-urls.ts';

/** Issues the URLs that clients upload a job's input to and download its output from. */
export interface BlobUrls {
  upload(job: JobState, expiresAt: string): Promise<string>;
  /** The job must have an output. */
  download(job: JobState, expiresAt: string): Promise<string>;
}

/** URLs of the API's own blob routes, signed with the service's secret. */
export function signedBlobUrls(signer: UrlSigner): BlobUrls {
  return {
    upload: (job, expiresAt) =>
      Promise.resolve(signer.uploadUrl(job.id, expiresAt)),
    download: (job, expiresAt) =>
      Promise.resolve(signer.downloadUrl(job.id, expiresAt)),
  };
}

/**
 * Presigned URLs of an object store. An upload lands at `uploadKey`, where
 * the API checks it before it becomes the job's input (see
 * api/presigned-uploads.ts).
 */
export function presignedBlobUrls(storage: PresignedBlobStorage): BlobUrls {
  return {
    upload: (job, expiresAt) =>
      storage.presignUpload(
        uploadKey(job.id),
        {
          contentType: job.input.contentType,
          sizeBytes: job.input.sizeBytes,
        },
        new Date(expiresAt),
      ),
    download: (job, expiresAt) => {
      if (!job.output) throw new Error(`job ${job.id} has no output`);
      return storage.presignDownload(
        outputKey(job.id),
        { contentType: job.output.contentType, fileName: job.output.name },
        new Date(expiresAt),
      );
    },
  };
}
