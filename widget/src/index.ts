import { BoringkitJob } from './boringkit-job.ts';

export { BoringkitJob };
export type { FlowEventDetail as BoringkitJobEventDetail } from './flow-state.ts';
export type { JobView, ToolView } from './api.ts';

// A page may load the widget twice, for example the self-contained build
// and a bundle of its own; the first definition stays.
if (!customElements.get('boringkit-job')) {
  customElements.define('boringkit-job', BoringkitJob);
}
