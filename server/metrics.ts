// Every Prometheus metric the server exports, defined in one place (prom-client).
// Each server instance owns its registry, so several can run in one test process.
import client from "prom-client";
import { heldConnections } from "./http/refusal-pacing";

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}) {
  const registry = new client.Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: registry });

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new client.Counter<L>({ name, help, labelNames, registers: [registry] });
  /** A counter bumped once per frame per socket: counted in plain numbers, handed over at scrape. */
  const hotCounter = <L extends string>(name: string, help: string, label: L) => {
    const tallies = new Map<string, Tally>();
    const c: client.Counter<L> = new client.Counter<L>({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        for (const [value, t] of tallies) {
          if (t.n === 0) continue;
          c.inc({ [label]: value } as Partial<Record<L, string>>, t.n);
          t.n = 0;
        }
      },
    });
    hotTallies.set(c, tallies);
    return c;
  };
  /** A counter with no labels bumped per delivery: a plain number, handed over at scrape (`counterFor(c, "")`). */
  const hotTotal = (name: string, help: string) => {
    const tally: Tally = { n: 0, inc: (by = 1) => void (tally.n += by) };
    const c: client.Counter = new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        if (tally.n === 0) return;
        c.inc(tally.n);
        tally.n = 0;
      },
    });
    hotTallies.set(c, new Map([["", tally]]));
    return c;
  };
  /**
   * A gauge that may also be read when scraped (`readOnScrape`): what changes on every request
   * (the polls held) is looked at when someone asks, not set each time it moves.
   */
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => {
    const g: client.Gauge<L> = new client.Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const read of scrapeReaders.get(g) ?? []) read();
      },
    });
    return g;
  };
  /** A counter of requests, by route, method and status: tallied in place, handed over at scrape. */
  const requestTallies = new Map<string, { labels: { route: string; method: string; status: string }; n: number }>();
  const httpRequests: client.Counter<"route" | "method" | "status"> = new client.Counter({
    name: "rt_http_requests_total",
    help: "HTTP requests answered",
    labelNames: ["route", "method", "status"],
    registers: [registry],
    collect() {
      for (const t of requestTallies.values()) {
        if (t.n === 0) continue;
        httpRequests.inc(t.labels, t.n);
        t.n = 0;
      }
    },
  });
  /** Counts an answered request (routes are patterns and methods the parser's own: the keys stay few). */
  const requestAnswered = (route: string, method: string, status: number) => {
    const key = `${route} ${method} ${status}`;
    let t = requestTallies.get(key);
    if (!t) requestTallies.set(key, (t = { labels: { route, method, status: String(status) }, n: 0 }));
    t.n++;
  };
  const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) =>
    new client.Histogram<L>({ name, help, buckets, labelNames, registers: [registry] });

  const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

  return {
    registry,

    // The event log
    appends: counter("rt_appends_total", "Events appended to the log", ["stream_kind"]),
    appendDuplicates: counter("rt_append_duplicates_total", "Appends answered with an earlier event (repeated clientId)"),
    appendGuesses: counter(
      "rt_append_guesses_total",
      "Batches numbered from the heads the last commits left and sent in one round trip: right (committed), missed (a head had moved or a clientId repeated) or failed (refused otherwise); the last two are written again under the lock",
      ["outcome"],
    ),
    appendBatchSize: histogram("rt_append_batch_size", "Appends committed per group-commit batch", [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]),
    commitSeconds: histogram("rt_append_commit_seconds", "Time from a batch's start to its commit", latencyBuckets),
    appendQueueDepth: gauge("rt_append_queue_depth", "Appends waiting for the next batch"),
    appendRejected: counter("rt_append_rejected_total", "Appends refused because the queue was full"),
    appendErrors: counter("rt_append_batch_errors_total", "Batches whose transaction failed"),

    // HTTP
    httpRequests,
    requestAnswered,
    httpSeconds: histogram(
      "rt_http_request_seconds",
      "HTTP request duration; held long polls and event streams are not timed (theirs is how long they were held)",
      latencyBuckets,
      ["route"],
    ),
    csrfRefused: counter("rt_http_csrf_refused_total", "State-changing requests refused as cross-origin or not JSON", ["code"]),
    connectionsHeld: new client.Gauge({
      name: "rt_http_refusals_held",
      help: "Connections left unread until the Retry-After they were given (they asked again too soon and were refused)",
      registers: [registry],
      collect() {
        this.set(heldConnections());
      },
    }),

    // Hub and transports
    connections: gauge("rt_connections", "Open realtime connections", ["transport"]),
    framesIn: counter("rt_ws_frames_in_total", "WebSocket frames received", ["type"]),
    framesOut: hotCounter("rt_ws_frames_out_total", "WebSocket frames sent", "type"),
    acks: counter("rt_acks_total", "Sends acknowledged after commit", ["transport"]),
    fanoutSeconds: histogram("rt_fanout_seconds", "Time from commit to handing the event to every local subscriber", latencyBuckets),
    deliveries: hotCounter("rt_deliveries_total", "Durable events handed to subscribers", "transport"),
    slowConsumerCloses: counter(
      "rt_slow_consumer_closes_total",
      "Connections closed for falling behind on durable events; reason (SSE and long polls): backlog (too many bytes unsent), stalled (nothing taken for too long), lagged (the hub could not keep it in order)",
      ["transport", "reason"],
    ),
    connectionsRefused: counter("rt_connections_refused_total", "Connections refused for passing a person's or an address's cap", ["transport", "scope"]),
    rateLimited: counter("rt_rate_limited_total", "Frames refused or dropped by a rate limit", ["type"]),
    passwordChecks: counter("rt_password_checks_total", "Account sign-ins checked against a password hash, by outcome", ["outcome"]),
    protocolErrors: counter("rt_protocol_errors_total", "Bad frames answered with an error", ["code"]),
    resumes: counter("rt_resumes_total", "Subscriptions resumed from a position the client brought (join since, Last-Event-ID or cursor, a poll's cursor)", ["transport"]),
    resets: counter("rt_resets_total", "Resumes refused as too old (client told to reload)", ["transport"]),

    // Cursors
    cursorInputs: counter("rt_cursor_inputs_total", "Cursor positions received"),
    cursorCoalesced: counter("rt_cursor_inputs_coalesced_total", "Cursor positions replaced by a later one before being sent"),
    cursorFrames: counter("rt_cursor_frames_flushed_total", "Cursor frames flushed to rooms"),
    cursorFramesSkipped: counter("rt_cursor_frames_skipped_total", "Cursor frames skipped for slow sockets"),

    // SSE
    sseEvents: hotTotal("rt_sse_events_total", "Events written to SSE streams"),
    sseBytes: hotTotal("rt_sse_bytes_total", "Bytes written to SSE streams"),
    sseEncodings: hotTotal(
      "rt_sse_encodings_total",
      "SSE messages framed: an event's id line and framing, made once per event for each distinct cursor (stream set) and shared by every stream at that cursor",
    ),

    // Long polling
    pollAnswers: hotCounter("rt_poll_answers_total", "Long polls answered", "reason"),
    pollTickets: hotCounter("rt_poll_tickets_total", "Long polls that named the subscription they carry on (protocol 1.17): taken, or declined and read afresh", "outcome"),
    pollsHeld: gauge("rt_polls_held", "Long polls currently held"),
    pollsKept: gauge("rt_polls_kept", "Long-poll subscriptions kept between a poll's answer and the client's next poll"),
    httpWaiting: gauge("rt_http_requests_waiting", "HTTP requests read and waiting for a turn of the event loop (a burst shared out between addresses)"),
    pollEncodings: hotTotal(
      "rt_poll_answer_encodings_total",
      "Long-poll answers encoded: once for every poller at the same position with the same room state, the others share it",
    ),

    // Scale-out
    backplaneReads: counter("rt_backplane_catchup_reads_total", "Log reads triggered by another instance's commit"),
    backplaneErrors: counter("rt_backplane_errors_total", "Backplane connection errors", ["backplane"]),
    busConnected: gauge("rt_ephemeral_bus_connected", "1 while presence, typing and cursors are shared with the other instances (the Redis bus is up and subscribed)"),

    // Lifecycle
    draining: gauge("rt_draining", "1 while the server drains for shutdown"),
  };
}

export interface Tally {
  n: number;
  inc(by?: number): void;
}

const hotTallies = new WeakMap<object, Map<string, Tally>>();

/** What each gauge reads when scraped, besides what was set on it (`readOnScrape`). */
const scrapeReaders = new WeakMap<object, Array<() => void>>();

/**
 * Has `read` set the gauge's value each time the registry is read. For values that move with
 * every request (polls held, subscriptions kept): setting a gauge hashes its labels each time,
 * reading it costs once per scrape.
 */
export function readOnScrape(gauge: client.Gauge<string> | undefined, read: (gauge: client.Gauge<string>) => void): void {
  if (!gauge) return;
  let readers = scrapeReaders.get(gauge);
  if (!readers) scrapeReaders.set(gauge, (readers = []));
  readers.push(() => read(gauge));
}

/**
 * The tally of one label value of a hot counter (frames and deliveries, counted per socket):
 * a plain number added up in place, handed to the Prometheus counter when it is read.
 */
export function counterFor(counter: client.Counter<string> | undefined, value: string): Tally | undefined {
  const tallies = counter && hotTallies.get(counter);
  if (!tallies) return undefined;
  let t = tallies.get(value);
  if (!t) {
    const tally: Tally = { n: 0, inc: (by = 1) => void (tally.n += by) };
    tallies.set(value, (t = tally));
  }
  return t;
}
