import { html, LitElement, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { ApiClient, type JobView, type ToolView } from './api.ts';
import {
  connectionProblem,
  MISSING_TOOL,
  parseOptions,
  syncFormValue,
  toolLoadFailure,
  unavailableTool,
} from './attributes.ts';
import { checkFile } from './file-check.ts';
import {
  IDLE,
  type FlowEventDetail,
  type FlowEventType,
  type FlowState,
  type Phase,
} from './flow-state.ts';
import { JobFlow } from './job-flow.ts';
import { forgetJob, loadSavedJob, saveJob, savedJobKey } from './session.ts';
import { widgetStyles } from './styles.ts';
import { renderBody, statusText, type ViewHandlers } from './view.ts';

/** Attributes whose change makes the widget look at its setup again. */
const SETUP_PROPERTIES = ['endpoint', 'token', 'tool', 'options', 'jobId'];

/**
 * `<boringkit-job>`: converts one file with a tool of a BoringKit Jobs
 * service through its public API, from choosing the file to downloading the
 * result. It fires bubbling, composed `boringkit-*` events with the job in
 * `detail`, and submits the job id with a surrounding form.
 */
export class BoringkitJob extends LitElement {
  static override styles = widgetStyles;
  static override shadowRootOptions: ShadowRootInit = {
    ...LitElement.shadowRootOptions,
    delegatesFocus: true,
  };
  static formAssociated = true;

  /** Origin of the service, with a path prefix if it has one. */
  @property() endpoint = '';
  /** Bearer token: an API key, or a short-lived widget token. */
  @property() token = '';
  /** Slug of the tool, such as `image-compress-api`. */
  @property() tool = '';
  /** Tool options as a JSON object, such as `{"quality": 80}`. */
  @property() options = '';
  /** A job to show instead of a file chooser. */
  @property({ attribute: 'job-id' }) jobId = '';
  /** Whether a surrounding form needs a job before it submits. */
  @property({ type: Boolean }) required = false;

  @state() private flowState: FlowState = IDLE;
  @state() private toolView: ToolView | undefined;
  @state() private setupError: string | undefined;
  @state() private toolError: string | undefined;
  @state() private optionsError: string | undefined;
  @state() private fileError: string | undefined;
  @state() private dragging = false;
  @state() private formDisabled = false;

  readonly #internals: ElementInternals;
  #flow: JobFlow | undefined;
  #configured = false;
  #options: Record<string, unknown> = {};
  #toolRequest: AbortController | undefined;
  #restoredJobId: string | undefined;
  #focusWasInside = false;

  constructor() {
    super();
    this.#internals = this.attachInternals();
  }

  /** The job shown, or null before one exists. */
  get job(): JobView | null {
    return this.flowState.job;
  }

  /** The widget's phase: `idle`, or the status of its job. */
  get phase(): Phase {
    return this.flowState.phase;
  }

  get form(): HTMLFormElement | null {
    return this.#internals.form;
  }

  get validity(): ValidityState {
    return this.#internals.validity;
  }

  get validationMessage(): string {
    return this.#internals.validationMessage;
  }

  checkValidity(): boolean {
    return this.#internals.checkValidity();
  }

  reportValidity(): boolean {
    return this.#internals.reportValidity();
  }

  /** Cancels the job while it uploads or runs. */
  cancel(): Promise<void> {
    return this.#flow?.cancel() ?? Promise.resolve();
  }

  /** Forgets the job and shows the file chooser again. */
  reset(): void {
    this.fileError = undefined;
    this.#flow?.reset();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Set up again after a move in the page, which disconnects first.
    if (this.hasUpdated && !this.#configured) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#toolRequest?.abort();
    this.#flow?.dispose();
    this.#flow = undefined;
    this.#configured = false;
  }

  override willUpdate(changed: PropertyValues<this>): void {
    this.#focusWasInside = this.shadowRoot?.activeElement != null;
    const setupChanged = SETUP_PROPERTIES.some((name) =>
      changed.has(name as keyof BoringkitJob),
    );
    if (!this.#configured || setupChanged) this.#configure(changed);
  }

  override updated(): void {
    if (this.#focusWasInside && this.shadowRoot?.activeElement === null) {
      this.renderRoot.querySelector<HTMLElement>('[data-focus]')?.focus();
    }
    this.#syncForm();
  }

  override render() {
    const state = this.flowState;
    const error = this.#visibleError();
    const handlers: ViewHandlers = {
      openPicker: () => this.#input()?.click(),
      fileChosen: (event) => this.#onFileChosen(event),
      dragOver: (event) => this.#onDragOver(event),
      dragLeave: () => (this.dragging = false),
      drop: (event) => this.#onDrop(event),
      cancel: () => void this.#flow?.cancel(),
      download: () => void this.#download(),
      startOver: () => this.reset(),
      retry: () => void this.#flow?.retry(),
      checkAgain: () => this.#showJob(state.job?.id),
    };
    const body = renderBody(
      {
        state,
        tool: this.toolView,
        canChoose: this.#canChoose(),
        dragging: this.dragging,
        error,
        canStartOver: this.tool !== '',
      },
      handlers,
    );
    return html`<div part="container" class="container ${state.phase}">
      ${body}
      <p id="status" part="status" class="status" role="status">
        ${statusText(state)}
      </p>
      <p id="error" part="error" class="error" role="alert">${error ?? ''}</p>
    </div>`;
  }

  formResetCallback(): void {
    this.reset();
  }

  formDisabledCallback(disabled: boolean): void {
    this.formDisabled = disabled;
  }

  formStateRestoreCallback(restored: unknown): void {
    if (typeof restored !== 'string' || restored === '') return;
    this.#restoredJobId = restored;
    if (this.#flow && !this.jobId) this.#showJob(restored);
  }

  #configure(changed: PropertyValues<this>): void {
    const first = !this.#configured;
    this.#configured = true;
    const parsed = parseOptions(this.options);
    this.#options = parsed.options;
    this.optionsError = parsed.error;

    const problem = connectionProblem(this.endpoint, this.token);
    const previousToken = changed.get('token' as keyof BoringkitJob);
    const reconnect =
      first ||
      this.#flow === undefined ||
      ['endpoint', 'tool', 'jobId'].some((name) =>
        changed.has(name as keyof BoringkitJob),
      ) ||
      (changed.has('token' as keyof BoringkitJob) && !previousToken);

    this.setupError = problem;
    if (problem) {
      this.#toolRequest?.abort();
      this.#flow?.dispose();
      this.#flow = undefined;
      this.flowState = IDLE;
      this.#emit('error', {
        job: null,
        error: { status: 0, code: 'INVALID_SETUP', message: problem },
      });
      return;
    }
    if (reconnect) {
      this.#flow?.dispose();
      const client = new ApiClient(this.endpoint, () => this.token);
      this.#flow = new JobFlow(client, {
        changed: (state) => (this.flowState = state),
        emitted: (type, detail) => this.#emit(type, detail),
        remember: (jobId) => this.#rememberJob(jobId),
      });
      void this.#loadTool(client);
      this.#showJob(this.jobId || this.#restoredJobId);
      return;
    }
    // A new token after a rejected one: look at the job again with it.
    const { error, job } = this.flowState;
    if (changed.has('token' as keyof BoringkitJob) && error?.status === 401) {
      if (job) this.#showJob(job.id);
      else void this.#loadTool(new ApiClient(this.endpoint, () => this.token));
    }
  }

  async #loadTool(client: ApiClient): Promise<void> {
    this.#toolRequest?.abort();
    this.toolView = undefined;
    this.toolError = undefined;
    if (!this.tool) {
      // A widget with a job-id needs no tool to show that job.
      if (!this.jobId) this.toolError = MISSING_TOOL;
      return;
    }
    const request = new AbortController();
    this.#toolRequest = request;
    try {
      const tool = await client.getTool(this.tool, request.signal);
      if (request.signal.aborted) return;
      this.toolView = tool;
      const problem = unavailableTool(tool);
      if (problem) this.#setToolError(problem);
    } catch (error) {
      if (request.signal.aborted) return;
      this.#setToolError(toolLoadFailure(this.tool, error));
    }
  }

  #setToolError(message: string): void {
    this.toolError = message;
    this.#emit('error', {
      job: null,
      error: { status: 0, code: 'TOOL_NOT_USABLE', message },
    });
  }

  #storageKey(): string {
    return savedJobKey(this.endpoint, this.tool, this.id);
  }

  /** Shows `jobId`, the job saved before a reload, or the file chooser. */
  #showJob(jobId: string | undefined): void {
    if (!this.#flow) return;
    this.fileError = undefined;
    const saved = jobId ? undefined : loadSavedJob(this.#storageKey());
    if (jobId) void this.#flow.resume(jobId);
    else if (saved) void this.#flow.resume(saved, { abandonedUpload: true });
    else this.#flow.reset();
  }

  /** Keeps the job for a reload, unless the job-id attribute names it. */
  #rememberJob(jobId: string | null): void {
    if (this.jobId) return;
    if (jobId) saveJob(this.#storageKey(), jobId);
    else forgetJob(this.#storageKey());
  }

  #emit(type: FlowEventType, detail: FlowEventDetail): void {
    this.dispatchEvent(
      new CustomEvent(`boringkit-${type}`, {
        detail,
        bubbles: true,
        composed: true,
      }),
    );
  }

  #canChoose(): boolean {
    return (
      this.#flow !== undefined &&
      this.toolView?.apiJobCreation === 'available' &&
      this.toolError === undefined &&
      this.optionsError === undefined &&
      !this.formDisabled
    );
  }

  #visibleError(): string | undefined {
    const flowError = this.flowState.error?.message;
    if (this.setupError) return this.setupError;
    if (this.flowState.phase !== 'idle') return flowError;
    return this.fileError ?? flowError ?? this.toolError ?? this.optionsError;
  }

  #input(): HTMLInputElement | null {
    return this.renderRoot.querySelector<HTMLInputElement>('#file');
  }

  #onFileChosen(event: Event): void {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    // Cleared so that choosing the same file again fires another change.
    input.value = '';
    // The input is hidden behind the disabled drop zone, but a script can
    // still set its files.
    if (file && this.#canChoose()) this.#choose(file);
  }

  #onDragOver(event: DragEvent): void {
    if (!this.#canChoose()) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    this.dragging = true;
  }

  #onDrop(event: DragEvent): void {
    event.preventDefault();
    this.dragging = false;
    const files = event.dataTransfer?.files;
    if (!files || files.length === 0 || !this.#canChoose()) return;
    if (files.length > 1) {
      this.#rejectFile(
        'FILE_COUNT',
        `${files.length} files were dropped. Drop one file at a time.`,
      );
      return;
    }
    const file = files.item(0);
    if (file) this.#choose(file);
  }

  #choose(file: File): void {
    const tool = this.toolView;
    if (!tool || !this.#flow) return;
    const check = checkFile(file, tool);
    if (!check.ok) {
      this.#rejectFile(check.code, check.message);
      return;
    }
    this.fileError = undefined;
    void this.#flow.start({
      file,
      contentType: check.contentType,
      toolSlug: tool.slug,
      options: this.#options,
    });
  }

  #rejectFile(code: string, message: string): void {
    this.fileError = message;
    this.#emit('error', { job: null, error: { status: 0, code, message } });
  }

  async #download(): Promise<void> {
    const intent = await this.#flow?.download();
    if (!intent) return;
    // The URL responds with Content-Disposition: attachment, so the browser
    // saves the file and the page stays.
    const link = document.createElement('a');
    link.href = intent.url;
    link.download = intent.name;
    link.hidden = true;
    this.renderRoot.append(link);
    link.click();
    link.remove();
  }

  #syncForm(): void {
    const { phase, job } = this.flowState;
    const jobId = phase === 'idle' ? null : (job?.id ?? null);
    const anchor = this.renderRoot.querySelector<HTMLElement>('#drop-zone');
    syncFormValue(this.#internals, jobId, this.required, anchor ?? undefined);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'boringkit-job': BoringkitJob;
  }
  interface HTMLElementEventMap {
    'boringkit-created': CustomEvent<FlowEventDetail>;
    'boringkit-progress': CustomEvent<FlowEventDetail>;
    'boringkit-succeeded': CustomEvent<FlowEventDetail>;
    'boringkit-failed': CustomEvent<FlowEventDetail>;
    'boringkit-canceled': CustomEvent<FlowEventDetail>;
    'boringkit-error': CustomEvent<FlowEventDetail>;
  }
}
