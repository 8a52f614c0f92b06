// Caps on the connections one person and one client address hold at once: open WebSockets,
// SSE streams and held long polls, counted together. Each is a file handle and some memory;
// without a cap one session could take every handle the process has and shut everyone out.
// A transport asks for a lease where it accepts a connection and releases it on every close
// path; releasing twice is harmless, so each path may simply release.
import type { IncomingMessage } from "node:http";
import type { Metrics } from "./metrics";

export type ConnectionKind = "ws" | "sse" | "longpoll";

export interface ConnectionLimits {
  /** Connections one person (user id) may hold at once, whatever their transport. */
  perPerson: number;
  /** The same per client address (people behind one NAT share it). */
  perAddress: number;
}

export interface ConnectionLease {
  release(): void;
}

/** Why a connection was refused: which cap, and when to try again. */
export interface ConnectionRefusal {
  scope: "person" | "address";
  limit: number;
  message: string;
  /** Seconds for `Retry-After`: a slot frees only when one of the holder's connections closes. */
  retryAfterS: number;
}

export type Admission = { ok: true; lease: ConnectionLease } | ({ ok: false } & ConnectionRefusal);

/** Seconds a refused client waits before asking again (its own backoff adds jitter). */
export const CONNECTION_RETRY_AFTER_S = 10;

export interface ConnectionBudgetOptions extends ConnectionLimits {
  /** The client's address for a request (`ProxyTrust.clientAddress`). */
  addressOf: (req: IncomingMessage) => string;
  metrics?: Metrics;
  /** Called when a person's last connection closes (their rate buckets may go). */
  onPersonIdle?: (personId: string) => void;
}

export class ConnectionBudget {
  private readonly byPerson = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly opts: ConnectionBudgetOptions) {}

  /** Takes a slot for `req`'s sender (person and address), or says which cap refused it. */
  admit(kind: ConnectionKind, req: IncomingMessage, personId: string): Admission {
    return this.acquire(kind, personId, this.addressOf(req));
  }

  /** The client address `req` counts against (behind a trusted proxy, the one it names). */
  addressOf(req: IncomingMessage): string {
    return this.opts.addressOf(req);
  }

  acquire(kind: ConnectionKind, personId: string, address: string): Admission {
    const refusal = this.check(personId, address, kind);
    if (refusal) return { ok: false, ...refusal };
    bump(this.byPerson, personId, 1);
    bump(this.byAddress, address, 1);
    let held = true;
    return {
      ok: true,
      lease: {
        release: () => {
          if (!held) return;
          held = false;
          bump(this.byAddress, address, -1);
          if (bump(this.byPerson, personId, -1) === 0) this.opts.onPersonIdle?.(personId);
        },
      },
    };
  }

  /**
   * What `acquire` would refuse now, without taking anything (a cheap early answer). With
   * `kind`, a refusal is an answer given to a `kind` connection and is counted in the metrics.
   */
  check(personId: string, address: string, kind?: ConnectionKind): ConnectionRefusal | null {
    const { perPerson, perAddress } = this.opts;
    let refused: ConnectionRefusal | null = null;
    if ((this.byPerson.get(personId) ?? 0) >= perPerson) {
      refused = refusal("person", perPerson, `You have ${perPerson} connections open; close one (a tab) first`);
    } else if ((this.byAddress.get(address) ?? 0) >= perAddress) {
      refused = refusal("address", perAddress, `Your address has ${perAddress} connections open; try again later`);
    }
    if (refused && kind) this.opts.metrics?.connectionsRefused.inc({ transport: kind, scope: refused.scope });
    return refused;
  }

  /** Connections the person holds now. */
  heldBy(personId: string): number {
    return this.byPerson.get(personId) ?? 0;
  }

  /** Connections the address holds now. */
  heldAt(address: string): number {
    return this.byAddress.get(address) ?? 0;
  }

  get limits(): ConnectionLimits {
    return { perPerson: this.opts.perPerson, perAddress: this.opts.perAddress };
  }
}

function refusal(scope: ConnectionRefusal["scope"], limit: number, message: string): ConnectionRefusal {
  return { scope, limit, message, retryAfterS: CONNECTION_RETRY_AFTER_S };
}

/** Adds `by` to a count; a count that reaches 0 is deleted, so idle people cost no memory. */
function bump(counts: Map<string, number>, key: string, by: number): number {
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
  return Math.max(0, n);
}
