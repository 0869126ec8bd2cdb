import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import {
  PdfInputError,
  serveThreadTasks,
} from '../../workers/engines/pdf-document.ts';

/** Tasks of a test thread, which show which thread ran them. */
serveThreadTasks({
  whoAmI: async () => ({ threadId }),
  wait: async (job: { ms: number }, post) => {
    post({ type: 'progress', page: 1, pages: 2 });
    await sleep(job.ms);
    return { threadId };
  },
  reject: async () => {
    throw new PdfInputError('The test input is invalid.', 'invalid_input');
  },
  crash: async () => {
    throw new Error('An unexpected failure.');
  },
  hold: async (job: { megabytes: number; ms: number }) => {
    const buffer = Buffer.alloc(job.megabytes * 2 ** 20, 1);
    await sleep(job.ms);
    return { threadId, bytes: buffer.length };
  },
});
