import type { ApiError, JobView } from './api.ts';

/** The widget's phase: a job's status, or `idle` before there is one. */
export type Phase =
  'idle' | 'uploading' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface FlowState {
  phase: Phase;
  job: JobView | null;
  /** The chosen file, or the job's input after a reload. */
  file: { name: string; sizeBytes: number } | null;
  uploadedBytes: number;
  error: ApiError | null;
  /** A cancel or download request in flight, whose button stays disabled. */
  pending: 'cancel' | 'download' | null;
  /** Whether `retry()` would send the failed create request again. */
  retryable: boolean;
}

export type FlowEventType =
  'created' | 'progress' | 'succeeded' | 'failed' | 'canceled' | 'error';

/** The `detail` of every `boringkit-*` event. */
export interface FlowEventDetail {
  job: JobView | null;
  error?: { status: number; code: string; message: string };
  /** For progress: whether the upload or the job moved. */
  stage?: 'upload' | 'job';
  /** For progress: 0 to 100. */
  progress?: number;
  loadedBytes?: number;
  totalBytes?: number;
}

export interface FlowListener {
  changed(state: FlowState): void;
  emitted(type: FlowEventType, detail: FlowEventDetail): void;
  /**
   * Receives the job a reload should show again, or null when a reload
   * should show the file chooser.
   */
  remember(jobId: string | null): void;
}

/** A file the widget checked against the tool, ready to become a job. */
export interface ChosenFile {
  file: File;
  contentType: string;
  toolSlug: string;
  options: Record<string, unknown>;
}

/** The state before any job, and after reset(). */
export const IDLE: FlowState = {
  phase: 'idle',
  job: null,
  file: null,
  uploadedBytes: 0,
  error: null,
  pending: null,
  retryable: false,
};
