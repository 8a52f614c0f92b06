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
      // We subscribe on every `ready` ourselves (below): ioredis would re-subscribe only the
      // channels it had already subscribed, so an instance that booted while Redis was down
      // would never listen at all.
      autoResubscribe: false,
      retryStrategy: (times: number) => Math.min(2_000, 100 * 2 ** Math.min(times, 5)) * (0.5 + Math.random() / 2),
      lazyConnect: true,
    };
    const pub = (this.pub = new Redis(this.url, { ...options, connectionName: `rt-pub-${this.instanceId}` }));
    const sub = (this.sub = new Redis(this.url, { ...options, connectionName: `rt-sub-${this.instanceId}` }));
    let reported = false;
    for (const [name, conn] of [["pub", pub], ["sub", sub]] as const) {
      conn.on("error", (err: Error) => {
        // ioredis retries on its own; say so once per outage, not once per attempt.
        if (!reported) this.logger.warn({ err: err.message, conn: name }, "redis unavailable; presence across instances degraded");
        reported = true;
        this.metrics?.backplaneErrors.inc({ backplane: "redis" });
      });
    }
    sub.on("message", (_channel: string, text: string) => {
      let msg: EphemeralMessage;
      try {
        msg = JSON.parse(text) as EphemeralMessage;
      } catch {
        return;
      }
      if (msg.i !== this.instanceId) onMessage(msg);
    });

    // Once both connections are up and the channel is subscribed — at boot, or after any
    // outage — ask the others for their state and announce ours: anything may have been missed.
    let subscribed = false;
    const connected = () => {
      if (!subscribed || pub.status !== "ready") return;
      if (reported) this.logger.info("redis back; presence across instances restored");
      reported = false;
      this.metrics?.busConnected.set(1);
      onConnected();
    };
    const subscribe = () =>
      sub.subscribe(this.channel).then(
        () => {
          subscribed = true;
          connected();
        },
        // The connection dropped again before the answer: the next `ready` subscribes again.
        (err: Error) => this.logger.debug({ err: err.message }, "redis subscribe interrupted"),
      );
    let firstSubscribe: Promise<void> | undefined;
    sub.on("ready", () => {
      const done = subscribe();
      firstSubscribe ??= done;
    });
    const disconnected = () => this.metrics?.busConnected.set(0);
    sub.on("close", () => {
      subscribed = false;
      disconnected();
    });
    pub.on("ready", connected);
    pub.on("close", disconnected);

    // Redis down at boot is not fatal: both connections keep retrying and the `ready`
    // handlers above take over whenever it comes.
    await Promise.all([
      pub.connect().catch((err: Error) => this.logger.warn({ err: err.message }, "redis publish connection failed; retrying")),
      sub.connect().then(
        () => firstSubscribe,
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
