// The project's own realtime client, run in Node against a test server: `ws` for the socket,
// fetch with the session cookie for HTTP, SSE and long polling.
import WebSocket from "ws";
import { RealtimeClient } from "../../lib/realtime/client";
import type { ClientOptions, FrameLog, WebSocketLike } from "../../lib/realtime/types";
import type { RealtimeEvent } from "../../lib/protocol";

export interface TestClient {
  client: RealtimeClient;
  events: RealtimeEvent[];
  /** Payloads from the server the client dropped as invalid: against a real server, none. */
  invalid: FrameLog[];
  /** Seqs received per stream, in arrival order. */
  seqs(stream: string): number[];
}

export function makeClient(
  baseUrl: string,
  cookie: string,
  opts: ClientOptions & { wsAllowed?: () => boolean; httpAllowed?: () => boolean } = {},
): TestClient {
  const authedFetch: typeof fetch = (input, init = {}) => {
    if (opts.httpAllowed && !opts.httpAllowed()) return Promise.reject(new TypeError("network down"));
    const headers = new Headers(init.headers);
    headers.set("cookie", cookie);
    return fetch(input, { ...init, headers });
  };
  const createWebSocket = (url: string, protocols: string[]): WebSocketLike => {
    if (opts.wsAllowed && !opts.wsAllowed()) {
      // What a proxy that strips Upgrade looks like from the browser: the socket fails to open.
      return new WebSocket("ws://127.0.0.1:9/ws", protocols) as unknown as WebSocketLike;
    }
    return new WebSocket(url, protocols, { headers: { cookie } }) as unknown as WebSocketLike;
  };
  const client = new RealtimeClient({
    baseUrl,
    fetch: authedFetch,
    createWebSocket,
    backoffBaseMs: 50,
    backoffCapMs: 500,
    ...opts,
  });
  const events: RealtimeEvent[] = [];
  client.on("event", (e) => events.push(e));
  const invalid: FrameLog[] = [];
  client.on("frame", (f) => f.invalid !== undefined && invalid.push(f));
  return {
    client,
    events,
    invalid,
    seqs: (stream) => events.filter((e) => e.stream === stream).map((e) => e.seq),
  };
}
