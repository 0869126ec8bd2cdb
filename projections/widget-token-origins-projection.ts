import type { DomainEvent } from '../domain/events.ts';
import type { ReadModelDatabase } from './database.ts';

/**
 * Keeps, for every origin a widget token allowed, the latest expiry among
 * those tokens, so a CORS preflight (which carries no token) can tell an
 * origin of a live token from any other. Runs inside a batch transaction.
 * ISO 8601 times in UTC compare correctly as strings.
 */
export function createWidgetTokenOriginsProjection(db: ReadModelDatabase) {
  const upsert = db.prepare(
    `INSERT INTO widget_token_origins (origin, expires_at) VALUES (?, ?)
     ON CONFLICT (origin) DO UPDATE
       SET expires_at = MAX(expires_at, excluded.expires_at)`,
  );

  return (event: DomainEvent): void => {
    if (event.type !== 'WidgetTokenIssued') return;
    for (const origin of event.data.origins) {
      upsert.run(origin, event.data.expiresAt);
    }
  };
}
