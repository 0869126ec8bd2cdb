import { Client, type Json } from './client.ts';

/** A page origin on this machine that no test server listens on. */
export const PAGE_ORIGIN = 'http://127.0.0.1:3000';

/**
 * Mints a widget token with an API key's client; `scope` overrides the
 * defaults of one tool (image-compress-api) and PAGE_ORIGIN. Returns the
 * token's body and a client that sends the token as its bearer.
 */
export async function mintToken(
  client: Client,
  scope: Json = {},
): Promise<{ body: Json; client: Client }> {
  const response = await client.request('POST', '/v1/widget-tokens', {
    tools: ['image-compress-api'],
    origins: [PAGE_ORIGIN],
    ...scope,
  });
  if (response.status !== 201) {
    throw new Error(`minting a token failed: ${JSON.stringify(response.body)}`);
  }
  return {
    body: response.body,
    client: new Client(client.url, response.body.token),
  };
}
