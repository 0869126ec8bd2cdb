import { ApiError, problemError, type UploadIntent } from './api.ts';

export interface UploadProgress {
  loadedBytes: number;
  totalBytes: number;
}

/**
 * PUTs `file` to an upload intent with XMLHttpRequest, because fetch()
 * reports no upload progress. Rejects with an ApiError for an error response
 * or a lost connection, and with `signal.reason` once `signal` aborts.
 */
export function uploadFile(
  intent: UploadIntent,
  file: Blob,
  onProgress: (progress: UploadProgress) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const request = new XMLHttpRequest();
    const abort = () => request.abort();
    signal.addEventListener('abort', abort, { once: true });
    const settle = (error?: unknown) => {
      signal.removeEventListener('abort', abort);
      if (error === undefined) resolve();
      else reject(error);
    };

    request.open(intent.method, intent.url);
    for (const [name, value] of Object.entries(intent.headers)) {
      request.setRequestHeader(name, value);
    }
    request.upload.addEventListener('progress', (event) => {
      onProgress({
        loadedBytes: event.loaded,
        totalBytes: event.lengthComputable ? event.total : file.size,
      });
    });
    request.addEventListener('load', () => {
      if (request.status >= 200 && request.status < 300) settle();
      else settle(problemError(request.status, request.responseText));
    });
    request.addEventListener('error', () => {
      settle(
        new ApiError(
          0,
          'NETWORK_ERROR',
          'The connection closed during the upload. Check the network and ' +
            'choose the file again.',
        ),
      );
    });
    request.addEventListener('abort', () => settle(signal.reason));
    request.send(file);
  });
}
