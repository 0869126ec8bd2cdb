import type { z } from 'zod';
import type { createJobRequest } from '../api/create-job-request.ts';
import type {
  downloadIntentSchema,
  jobEventSchema,
  jobPageSchema,
  jobStatusSchema,
  jobViewSchema,
  uploadReceiptSchema,
} from '../api/job-view.ts';
import type { problemSchema } from '../api/problems.ts';
import type { creditsSchema } from '../api/routes/credits.ts';
import type { toolViewSchema } from '../api/routes/tools.ts';
import type {
  createWidgetTokenRequest,
  widgetTokenSchema,
} from '../api/widget-token-schemas.ts';

// Types only: the client imports no server code at run time, and these
// follow the zod schemas that the server validates and responds with.

/** The body of POST /v1/jobs, before the server applies its defaults. */
export type CreateJobRequest = z.input<typeof createJobRequest>;
export type Job = z.infer<typeof jobViewSchema>;
export type JobStatus = z.infer<typeof jobStatusSchema>;
export type JobPage = z.infer<typeof jobPageSchema>;
export type JobEvent = z.infer<typeof jobEventSchema>;
export type DownloadIntent = z.infer<typeof downloadIntentSchema>;
export type UploadReceipt = z.infer<typeof uploadReceiptSchema>;
export type Tool = z.infer<typeof toolViewSchema>;
export type Credits = z.infer<typeof creditsSchema>;
export type Problem = z.infer<typeof problemSchema>;
/** The body of POST /v1/widget-tokens, before the server's defaults. */
export type CreateWidgetTokenRequest = z.input<typeof createWidgetTokenRequest>;
export type WidgetToken = z.infer<typeof widgetTokenSchema>;

/** Bytes moved so far, for upload and download progress callbacks. */
export interface TransferProgress {
  bytes: number;
  totalBytes: number;
}
