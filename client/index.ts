export {
  BoringKitClient,
  DEFAULT_URL,
  type ClientOptions,
  type ConvertOptions,
  type WaitOptions,
} from './client.ts';
export {
  ApiError,
  BoringKitError,
  JobFailedError,
  NetworkError,
} from './errors.ts';
export type { RetryPolicy } from './http.ts';
export type { TransferOptions, UploadSource } from './transfer.ts';
export type * from './types.ts';
