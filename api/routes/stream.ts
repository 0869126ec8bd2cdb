import type { FastifyInstance, FastifyRequest } from 'fastify';
import { filter } from 'rxjs';
import { isTerminal, type JobState } from '../../domain/job-state.ts';
import { callerOf } from '../access.ts';
import type { ApiContext } from '../context.ts';
import { presentJob, type JobStreamMessage } from '../job-view.ts';

type StreamRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * `GET /v1/jobs/{id}/stream`: a WebSocket that sends the job at once and
 * after every change the read model commits, then closes once it finished.
 */
export function registerStreamRoute(app: FastifyInstance, context: ApiContext) {
  app.get(
    '/v1/jobs/:id/stream',
    {
      websocket: true,
      // Browsers cannot set headers on a WebSocket, so the credential may
      // come as `?token=` (see api/query-token.ts). A widget token's Origin
      // check happens with its authentication (see api/access.ts).
      config: { queryToken: true, widgetToken: true },
      preValidation: async (request: StreamRequest) => {
        await context.jobs.getJob(callerOf(request), request.params.id);
      },
    },
    (socket, request: StreamRequest) => {
      const jobId = request.params.id;
      // Presigning may take a moment, so each message waits for the one
      // before it and the client sees the changes in commit order.
      let sent = Promise.resolve();
      const send = (job: JobState) => {
        sent = sent
          .then(async () => {
            const message: JobStreamMessage = {
              type: 'job',
              job: await presentJob(job, context.urls),
            };
            socket.send(JSON.stringify(message));
            if (isTerminal(job)) socket.close(1000, 'job finished');
          })
          .catch((error: unknown) => {
            request.log.error({ err: error, jobId }, 'job stream send failed');
            socket.close(1011, 'server error');
          });
      };

      const subscription = context.readModel.changes
        .pipe(filter((change) => change.jobId === jobId))
        .subscribe({
          next: (change) => send(change.job),
          complete: () => socket.close(1001, 'server shutting down'),
        });
      socket.on('close', () => subscription.unsubscribe());
      request.log.info({ jobId }, 'job stream opened');

      const current = context.readModel.queries.getJob(jobId);
      if (current) send(current);
    },
  );
}
