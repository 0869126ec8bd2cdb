import { createServer, connect, type Server, type Socket } from 'node:net';

/** A response to drop: the next `count` requests matching method and path. */
interface DropRule {
  method: string;
  pathPrefix: string;
  count: number;
}

/**
 * A TCP proxy on 127.0.0.1 in front of the service that injects network
 * faults: it refuses WebSocket upgrades, drops upgraded sockets after a
 * delay, or closes the connection instead of passing a response on. The
 * service itself runs unchanged behind it.
 */
export class FaultProxy {
  refuseUpgrades = false;
  dropUpgradesAfterMs: number | undefined;
  readonly requests: string[] = [];
  readonly counts = { upgradesRefused: 0, upgradesDropped: 0, dropped: 0 };
  private readonly rules: DropRule[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    public targetPort: number,
  ) {}

  /** Starts the proxy. `targetPort` may also be set later, before traffic. */
  static async start(targetPort = 0): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const proxy = new FaultProxy(
      server,
      `http://127.0.0.1:${address.port}`,
      targetPort,
    );
    server.on('connection', (client) => proxy.relay(client));
    return proxy;
  }

  /** Closes the connection instead of the next `count` matching responses. */
  dropResponses(method: string, pathPrefix: string, count = 1): void {
    this.rules.push({ method, pathPrefix, count });
  }

  private relay(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let dropNextResponse = false;
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };

    client.on('data', (chunk: Buffer) => {
      const head = chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
      const request = /^([A-Z]+) (\S+) HTTP\/1\.1\r\n/.exec(head);
      if (request) {
        const [, method = '', path = ''] = request;
        this.requests.push(`${method} ${path}`);
        if (/\r\nupgrade: websocket\r\n/i.test(head)) {
          if (this.refuseUpgrades) {
            this.counts.upgradesRefused++;
            cut();
            return;
          }
          if (this.dropUpgradesAfterMs !== undefined) {
            setTimeout(() => {
              this.counts.upgradesDropped++;
              cut();
            }, this.dropUpgradesAfterMs);
          }
        }
        const rule = this.rules.find(
          (candidate) =>
            candidate.count > 0 &&
            candidate.method === method &&
            path.startsWith(candidate.pathPrefix),
        );
        if (rule) {
          rule.count--;
          dropNextResponse = true;
        }
      }
      upstream.write(chunk);
    });

    upstream.on('data', (chunk: Buffer) => {
      if (dropNextResponse) {
        this.counts.dropped++;
        cut();
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', () => this.sockets.delete(client));
    upstream.on('close', () => this.sockets.delete(upstream));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
