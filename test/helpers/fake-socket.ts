// A WebSocketLike the test drives by hand: it opens, answers and drops only when told, and
// keeps every frame the client sent. With fake timers, the realtime client runs deterministically.
import type { ClientFrame, ServerFrame } from "../../lib/protocol";
import type { WebSocketLike } from "../../lib/realtime/types";

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  bufferedAmount = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  /** Frames the client sent, parsed. */
  readonly sent: ClientFrame[] = [];
  /** Whether the client itself closed this socket. */
  closedByClient = false;
  /** The code and reason of each close the client asked for. */
  readonly closes: Array<[number | undefined, string | undefined]> = [];

  constructor(
    readonly url: string,
    /** The subprotocols the client offered, preferred first. */
    readonly protocols: string[] = [],
  ) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = true;
    this.closes.push([code, reason]);
    this.readyState = 3;
  }

  // --- what the "server" does ---

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** Delivers `data` as it is: what a buggy or foreign server might send. */
  receiveRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The connection is lost (or refused, when it never opened). */
  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  sentOf<T extends ClientFrame["type"]>(type: T): Array<Extract<ClientFrame, { type: T }>> {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}

/** Every socket the client created, newest last. */
export class FakeSockets {
  readonly all: FakeSocket[] = [];
  readonly create = (url: string, protocols: string[] = []): WebSocketLike => {
    const s = new FakeSocket(url, protocols);
    this.all.push(s);
    return s;
  };
  get last(): FakeSocket {
    const s = this.all[this.all.length - 1];
    if (!s) throw new Error("no socket was created");
    return s;
  }
  get count(): number {
    return this.all.length;
  }
}

/** A browser window and document to hand to `attachToBrowser`: plain event targets. */
export function fakeBrowser(): { win: Window; doc: Document & { visibilityState: DocumentVisibilityState }; fire(target: "online" | "offline" | "visible" | "hidden"): void } {
  const win = new EventTarget() as unknown as Window;
  const doc = Object.assign(new EventTarget(), { visibilityState: "visible" as DocumentVisibilityState }) as unknown as Document & {
    visibilityState: DocumentVisibilityState;
  };
  return {
    win,
    doc,
    fire(what) {
      if (what === "online" || what === "offline") return void win.dispatchEvent(new Event(what));
      doc.visibilityState = what;
      doc.dispatchEvent(new Event("visibilitychange"));
    },
  };
}
