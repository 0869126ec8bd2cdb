import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { apiErrorFrom, NetworkError } from './errors.ts';
import type { TransferProgress, UploadReceipt } from './types.ts';

/** The bytes of an upload: a file path, a buffer, or a stream of known size. */
export type UploadSource =
  string | Uint8Array | { stream: Readable; sizeBytes: number };

export async function sourceSize(source: UploadSource): Promise<number> {
  if (typeof source === 'string') return (await stat(source)).size;
  if (source instanceof Uint8Array) return source.byteLength;
  return source.sizeBytes;
}

function sourceStream(source: UploadSource): Readable {
  if (typeof source === 'string') return createReadStream(source);
  if (source instanceof Uint8Array) return Readable.from([source]);
  return source.stream;
}

/** Progress callback and cancellation of an upload or a download. */
export interface TransferOptions {
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

/** Counts the bytes passing through and reports them. */
function progressCounter(
  totalBytes: number,
  onProgress?: (progress: TransferProgress) => void,
): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onProgress?.({ bytes, totalBytes });
      callback(null, chunk);
    },
  });
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * PUTs the bytes to a signed upload URL with an exact Content-Length.
 * Progress counts bytes handed to the socket, so it can run ahead of what
 * the server has received by the size of the socket's buffers.
 */
export async function putUpload(
  url: string,
  contentType: string,
  source: UploadSource,
  options: TransferOptions = {},
): Promise<UploadReceipt | undefined> {
  const target = new URL(url);
  const sizeBytes = await sourceSize(source);
  const transport = target.protocol === 'https:' ? https : http;
  const request = transport.request(target, {
    method: 'PUT',
    headers: { 'content-type': contentType, 'content-length': sizeBytes },
    signal: options.signal,
  });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });

  // The server may reject the upload and close the connection before the
  // body is sent, so its response counts even when sending failed.
  const sent = pipeline(
    sourceStream(source),
    progressCounter(sizeBytes, options.onProgress),
    request,
  );
  const [sendResult, responseResult] = await Promise.allSettled([
    sent,
    response,
  ]);
  if (responseResult.status === 'rejected') {
    if (options.signal?.aborted) throw options.signal.reason;
    const reason: unknown =
      sendResult.status === 'rejected'
        ? sendResult.reason
        : responseResult.reason;
    // A source file that fails to read is the caller's error, not the
    // network's, and file system errors carry the path.
    if (reason instanceof Error && 'path' in reason) throw reason;
    throw new NetworkError(
      `The upload to ${target.origin} failed: ${(reason as Error).message}. ` +
        'Get the job: if its stage is still awaiting_upload, upload again.',
      { cause: reason },
    );
  }

  const reply = responseResult.value;
  const text = await readText(reply);
  const status = reply.statusCode ?? 0;
  if (status < 200 || status >= 300) throw apiErrorFrom(status, text);
  // An object store such as S3 responds to a presigned PUT without a receipt.
  return text === '' ? undefined : (JSON.parse(text) as UploadReceipt);
}

/** Opens a signed download URL and returns its body as a Node stream. */
export async function openDownload(
  url: string,
  signal?: AbortSignal,
): Promise<{ stream: Readable; sizeBytes: number }> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new NetworkError(
      `The download from ${new URL(url).origin} failed: ` +
        `${(error as Error).message}. Check the service and download again.`,
      { cause: error },
    );
  }
  if (!response.ok || !response.body) {
    throw apiErrorFrom(response.status, await response.text());
  }
  return {
    stream: Readable.fromWeb(response.body as WebReadableStream),
    sizeBytes: Number(response.headers.get('content-length') ?? 0),
  };
}

/**
 * Writes a download to `destination` through a temporary file beside it,
 * so a failed download leaves no partial file under the final name.
 */
export async function saveDownload(
  download: { stream: Readable; sizeBytes: number },
  destination: string,
  options: TransferOptions = {},
): Promise<number> {
  const temporary = join(
    dirname(destination),
    `.${basename(destination)}.${process.pid}.part`,
  );
  try {
    await pipeline(
      download.stream,
      progressCounter(download.sizeBytes, options.onProgress),
      createWriteStream(temporary),
    ).catch((error: unknown) => {
      if (options.signal?.aborted) throw options.signal.reason;
      // File system errors carry a path, and the others come from the socket.
      if ((error as NodeJS.ErrnoException).path !== undefined) throw error;
      throw new NetworkError(
        `The download failed: ${(error as Error).message}. Download it again.`,
        { cause: error },
      );
    });
    const { size } = await stat(temporary);
    if (download.sizeBytes && size !== download.sizeBytes) {
      throw new NetworkError(
        `The download ended after ${size} of ${download.sizeBytes} bytes. ` +
          'Download it again.',
      );
    }
    await rename(temporary, destination);
    return size;
  } finally {
    await rm(temporary, { force: true });
  }
}
