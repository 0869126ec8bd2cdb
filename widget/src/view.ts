import { html, nothing, type TemplateResult } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { JobView, ToolView } from './api.ts';
import { acceptAttribute, describeTypes, formatBytes } from './file-check.ts';
import type { FlowState } from './flow-state.ts';

/** Values the templates need from the element. */
export interface ViewModel {
  state: FlowState;
  tool: ToolView | undefined;
  /** Whether a file may be chosen now. */
  canChoose: boolean;
  dragging: boolean;
  /** The error tied to the drop zone and announced, if any. */
  error: string | undefined;
  /** Whether "Convert another file" can start over with the same tool. */
  canStartOver: boolean;
}

export interface ViewHandlers {
  openPicker(): void;
  fileChosen(event: Event): void;
  dragOver(event: DragEvent): void;
  dragLeave(): void;
  drop(event: DragEvent): void;
  cancel(): void;
  download(): void;
  startOver(): void;
  retry(): void;
  checkAgain(): void;
}

/** Returns the sentence the status live region announces for a state. */
export function statusText({ phase, job, file, pending }: FlowState): string {
  const name = file ? `"${file.name}"` : 'the file';
  if (pending === 'cancel') return 'Canceling';
  switch (phase) {
    case 'idle':
      return '';
    case 'uploading':
      return job ? `Uploading ${name}` : `Creating a job for ${name}`;
    case 'running':
      return runningText(job);
    case 'succeeded':
      return job?.output
        ? `Done: "${job.output.name}" is ready to download.`
        : 'Done.';
    case 'failed':
      return `Failed: ${job?.failure?.message ?? 'the job failed.'}`;
    case 'canceled':
      return 'Canceled.';
  }
}

function runningText(job: JobView | null): string {
  if (!job) return 'Loading the job';
  if (job.status === 'running') {
    return job.stage === 'finalizing' ? 'Saving the result' : 'Converting';
  }
  if (job.stage === 'awaiting_upload') return 'Waiting for the upload';
  if (job.stage === 'retry_scheduled') {
    return (
      'Retrying after a failed attempt ' +
      `(${job.attempt} of ${job.maxAttempts} attempts used)`
    );
  }
  return 'Waiting for a worker';
}

/** Percent done: of the upload while uploading, else of the job. */
export function percentDone({ phase, job, file, uploadedBytes }: FlowState) {
  if (phase === 'uploading') {
    const total = file?.sizeBytes ?? 0;
    return total > 0 ? Math.floor((100 * uploadedBytes) / total) : 0;
  }
  if (phase === 'succeeded') return 100;
  return Math.round(job?.progress ?? 0);
}

export function renderBody(model: ViewModel, on: ViewHandlers): TemplateResult {
  switch (model.state.phase) {
    case 'idle':
      return renderChooser(model, on);
    case 'uploading':
    case 'running':
      return renderProgress(model, on);
    default:
      return renderResult(model, on);
  }
}

function renderChooser(model: ViewModel, on: ViewHandlers): TemplateResult {
  const { tool, error, state } = model;
  const hint = tool
    ? `${tool.title} takes ${describeTypes(tool.input.contentTypes)} ` +
      `up to ${formatBytes(tool.input.maxSizeBytes)}.`
    : '';
  return html`
    <input
      id="file"
      type="file"
      hidden
      accept=${ifDefined(tool && acceptAttribute(tool.input.contentTypes))}
      @change=${on.fileChosen}
    />
    <button
      id="drop-zone"
      part="drop-zone"
      class="drop-zone ${model.dragging ? 'dragging' : ''}"
      type="button"
      data-focus
      ?disabled=${!model.canChoose}
      aria-describedby="hint error"
      aria-invalid=${error ? 'true' : 'false'}
      @click=${on.openPicker}
      @dragenter=${on.dragOver}
      @dragover=${on.dragOver}
      @dragleave=${on.dragLeave}
      @drop=${on.drop}
    >
      <span class="drop-title">Choose a file</span>
      <span>or drop it here</span>
    </button>
    <p id="hint" part="hint" class="hint">${hint}</p>
    ${
      state.retryable
        ? html`<div part="actions" class="actions">
            <button
              part="button retry-button"
              class="button"
              @click=${on.retry}
            >
              Try again
            </button>
          </div>`
        : nothing
    }
  `;
}

function renderFile(state: FlowState): TemplateResult | typeof nothing {
  if (!state.file) return nothing;
  return html`<p part="file" class="file">
    <span class="file-name">${state.file.name}</span>
    <span class="detail">${formatBytes(state.file.sizeBytes)}</span>
  </p>`;
}

function renderProgress(model: ViewModel, on: ViewHandlers): TemplateResult {
  const { state } = model;
  const percent = percentDone(state);
  const uploading = state.phase === 'uploading';
  // Tools that report no progress stay at 0 until they finish, so the bar
  // moves without a number meanwhile.
  const indeterminate = !uploading && percent === 0;
  let detail = `${percent}%`;
  if (uploading && state.file) {
    detail +=
      `, ${formatBytes(state.uploadedBytes)} of ` +
      formatBytes(state.file.sizeBytes);
  } else if (indeterminate) {
    detail = statusText(state);
  }
  return html`
    ${renderFile(state)}
    <div
      part="progress"
      class="progress ${indeterminate ? 'indeterminate' : ''}"
      role="progressbar"
      aria-label=${uploading ? 'Upload progress' : 'Conversion progress'}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${indeterminate ? nothing : percent}
      aria-valuetext=${detail}
    >
      <div
        part="progress-bar"
        class="progress-bar"
        style=${styleMap({ width: `${percent}%` })}
      ></div>
    </div>
    <p part="progress-text" class="detail" aria-hidden="true">
      ${indeterminate ? '' : detail}
    </p>
    <div part="actions" class="actions">
      <button
        part="button cancel-button"
        class="button"
        data-focus
        ?disabled=${state.pending === 'cancel'}
        @click=${on.cancel}
      >
        Cancel
      </button>
      ${
        state.error && state.job
          ? html`<button
              part="button check-button"
              class="button"
              @click=${on.checkAgain}
            >
              Check status again
            </button>`
          : nothing
      }
    </div>
  `;
}

function renderResult(model: ViewModel, on: ViewHandlers): TemplateResult {
  const { state } = model;
  const output = state.phase === 'succeeded' ? state.job?.output : null;
  const startOver = model.canStartOver
    ? html`<button
        part="button reset-button"
        class="button ${output ? '' : 'primary'}"
        ?data-focus=${!output}
        @click=${on.startOver}
      >
        ${output ? 'Convert another file' : 'Choose another file'}
      </button>`
    : nothing;
  return html`
    ${
      output
        ? html`<p part="file" class="file">
            <span class="file-name">${output.name}</span>
            <span class="detail">${formatBytes(output.sizeBytes)}</span>
          </p>`
        : renderFile(state)
    }
    <div part="actions" class="actions">
      ${
        output
          ? html`<button
              part="button download-button"
              class="button primary"
              data-focus
              ?disabled=${state.pending === 'download'}
              @click=${on.download}
            >
              Download
            </button>`
          : nothing
      }
      ${startOver}
    </div>
  `;
}
