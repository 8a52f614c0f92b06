// The ephemeral bus on Redis pub/sub (ioredis): one connection to publish, one to subscribe.
// While Redis is away, publishes are dropped (not queued) and ioredis reconnects by itself.
import { Redis } from "ioredis";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { EphemeralBus, EphemeralMessage } from "./ephemeral";


export class RedisBus implements EphemeralBus {
  private pub: Redis | null = null;
  private sub: Redis | null = null;

  private readonly channel: string;

  /** `deployment` names the set of instances sharing state (several apps may share one Redis). */
  constructor(
    private readonly url: string,
    deployment: string,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.channel = `rt:ephemeral:${deployment}`;
  }

  async start(onMessage: (msg: EphemeralMessage) => void, onConnected: () => void): Promise<void> {
    const options = {
      // Ephemeral state is worthless late: never buffer commands while disconnected.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(2_000, 100 * 2 ** Math.min(times, 5)) * (0.5 + Math.random() / 2),
      lazyConnect: true,
    };
    this.pub = new Redis(this.url, { ...options, connectionName: `rt-pub-${this.instanceId}` });
    this.sub = new Redis(this.url, { ...options, connectionName: `rt-sub-${this.instanceId}`, enableOfflineQueue: true });
    let reported = false;
    for (const [name, conn] of [["pub", this.pub], ["sub", this.sub]] as const) {
      conn.on("error", (err: Error) => {
        // ioredis retries on its own; say so once per outage, not once per attempt.
        if (!reported) this.logger.warn({ err: err.message, conn: name }, "redis unavailable; presence across instances degraded");
        reported = true;
        this.metrics?.backplaneErrors.inc({ backplane: "redis" });
      });
    }
    this.sub.on("message", (_channel: string, text: string) => {
      let msg: EphemeralMessage;
      try {
        msg = JSON.parse(text) as EphemeralMessage;
      } catch {
        return;
      }
      if (msg.i !== this.instanceId) onMessage(msg);
    });
    // `ready` after every (re)connect: ioredis re-subscribes for us; we re-announce.
    this.sub.on("ready", () => {
      if (reported) this.logger.info("redis back; presence across instances restored");
      reported = false;
      onConnected();
    });
    await Promise.all([
      this.pub.connect().catch((err: Error) => this.logger.warn({ err: err.message }, "redis publish connection failed; retrying")),
      this.sub.connect().then(
        () => this.sub!.subscribe(this.channel),
        (err: Error) => this.logger.warn({ err: err.message }, "redis subscribe connection failed; retrying"),
      ),
    ]);
  }

  publish(msg: EphemeralMessage): void {
    if (!this.pub || this.pub.status !== "ready") return;
    this.pub.publish(this.channel, JSON.stringify(msg)).catch(() => {});
  }

  async stop(): Promise<void> {
    const conns = [this.pub, this.sub];
    this.pub = this.sub = null;
    await Promise.all(conns.map((c) => c?.quit().catch(() => c.disconnect())));
  }
}
