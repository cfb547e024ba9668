import * as http from 'http';
import { AddressInfo } from 'net';

/** How the fake Slack answers one request. */
export interface SlackReply {
  readonly status?: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** Never answer (a hung connection). */
  readonly hang?: boolean;
}

export interface ReceivedPost {
  readonly path: string;
  readonly contentType?: string;
  readonly body: any;
  readonly at: number;
}

/**
 * A real HTTP server on 127.0.0.1 standing in for Slack's incoming webhooks. Replies are used in
 * order and the last one repeats; by default Slack's `200 ok`.
 */
export class FakeSlack {
  public static async start(): Promise<FakeSlack> {
    const slack = new FakeSlack();
    await new Promise<void>(resolve => slack.server.listen(0, '127.0.0.1', resolve));
    return slack;
  }

  public readonly posts: ReceivedPost[] = [];
  private replies: SlackReply[] = [];
  private readonly server: http.Server;
  private readonly hung = new Set<http.ServerResponse>();

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', c => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        this.posts.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: text ? JSON.parse(text) : undefined, at: Date.now() });
        const reply = this.replies.length > 1 ? this.replies.shift()! : this.replies[0] ?? {};
        if (reply.hang) {
          this.hung.add(res);
          return;
        }
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
        res.end(reply.body ?? 'ok');
      });
    });
  }

  /** A webhook URL on this server; the path stands for the secret part of a real webhook. */
  public url(path = '/services/T000/B000/secret-token'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  public reply(...replies: SlackReply[]): void {
    this.replies = replies;
  }

  public reset(): void {
    this.posts.length = 0;
    this.replies = [];
    this.releaseHung();
  }

  public async stop(): Promise<void> {
    this.releaseHung();
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  private releaseHung(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }
}
