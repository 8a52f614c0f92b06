// PGlite behind the Postgres wire protocol, on a Unix socket, for several connections at once.
//
// PGlite is one Postgres backend: one session, one transaction at a time. Several client
// connections can share it only if each has the backend to itself from its first message until
// it is idle again — until a ReadyForQuery whose status is `I` (no transaction open). In between,
// another connection's Parse would replace this one's unnamed statement, and its queries would run
// inside this one's transaction. So the backend passes from connection to connection only at those
// points, like a transaction-mode pooler (PgBouncer). `@electric-sql/pglite-socket` multiplexes
// per protocol message instead, and two `pg` clients sending parameterized queries at once get
// "unnamed prepared statement does not exist"; this file is that package's server, made safe.
//
// Named prepared statements are a session's on Postgres, and here the one backend is every
// connection's session: two connections preparing a statement of one name would collide, and a
// closed connection's statements would stay behind. So each connection's statement names are
// made its own on the way in (`ownStatementNames`), and its statements are deallocated once it
// has closed and the backend is free.
//
// Notifications: the one backend LISTENs for every connection that asked, and its
// NotificationResponses come out in whichever connection's answer ran last; each goes to the
// connections that issued a LISTEN for its channel instead.
import { chmodSync, rmSync } from "node:fs";
import net from "node:net";
import type { PGlite } from "@electric-sql/pglite";

const SSL_REQUEST = 80877103;
const PROTOCOL_3 = 196608;

/** One client connection: the bytes it sent that are not a whole message yet, and what it awaits. */
interface Session {
  readonly socket: net.Socket;
  /** Bytes received, not yet a complete message. */
  partial: Buffer;
  /** Complete messages waiting for the backend, in order. */
  queued: Buffer[];
  /** Has sent its startup packet (the parser's state). */
  greeted: boolean;
  /** Its startup packet has been answered (the backend's side). */
  started: boolean;
  /** Channels it LISTENs on. */
  readonly channels: Set<string>;
  closed: boolean;
  /** The event log's (its `application_name` ends in `-log`): served before the others. */
  urgent: boolean;
  /** Put before its statement names in the backend, making them this connection's own. */
  readonly prefix: string;
  /** The named statements it prepared (their names in the backend): deallocated once it closes. */
  readonly statements: Set<string>;
}

/**
 * Connections whose `application_name` ends in this are served first when the backend frees:
 * the event log's batches, which every ack waits on, go ahead of a burst of other queries. No
 * one starves: the log writes one batch at a time, and sends its next only after it has heard
 * of the last commit, by which time the backend has moved on to whoever was waiting.
 */
export const URGENT_APPLICATION_SUFFIX = "-log";

export interface PGliteServer {
  /** Connections open now. */
  connections(): number;
  /** Stops accepting, closes every connection, rolls back a transaction left open. */
  close(): Promise<void>;
}

/** Serves `db` on the Unix socket `socketPath` (replaced if a dead one is there), owner-only. */
export async function servePGlite(db: PGlite, socketPath: string): Promise<PGliteServer> {
  const sessions = new Set<Session>();
  /** The connection the backend belongs to until it is idle again; null when it is idle. */
  let owner: Session | null = null;
  /** Connections with messages queued, in arrival order (the owner is served first). */
  const waiting: Session[] = [];
  let running = false;
  /** Connections opened so far: each one's number makes its statement names its own. */
  let opened = 0;
  /** Names of statements whose connection closed, deallocated when the backend is next free. */
  const orphaned: string[] = [];

  /**
   * Runs protocol messages on the backend and returns its answer. PGlite's lock keeps out its
   * own work (a dump); nothing to sync after, as its files are Node's own (NodeFS, or memory).
   */
  const run = (messages: Buffer) =>
    db.runExclusive(async () => Buffer.from(await db.execProtocolRaw(messages, { syncToFs: false })));

  /** Puts a connection in line: behind the others, or behind only the urgent ones if it is one. */
  const line = (s: Session) => {
    if (waiting.includes(s)) return;
    const at = s.urgent ? waiting.findIndex((w) => !w.urgent) : -1;
    if (at < 0) waiting.push(s);
    else waiting.splice(at, 0, s);
  };

  const enqueue = (s: Session) => {
    if (s !== owner) line(s);
    void pump();
  };

  /** Runs queued messages, one connection at a time, while the backend is free for them. */
  const pump = async () => {
    if (running) return;
    running = true;
    try {
      for (;;) {
        // Between connections' turns, and only when no one waits: an ack never waits on them.
        if (!owner && waiting.length === 0 && orphaned.length > 0) await deallocate(orphaned.splice(0));
        const s = owner ?? waiting.shift();
        if (!s || s.queued.length === 0) {
          if (s && s !== owner) continue;
          break;
        }
        if (!s.started) {
          // The startup packet is answered on its own (PGlite sends the connection's parameters).
          s.started = true;
          const startup = s.queued.shift()!;
          const out = await run(startup);
          if (!s.closed) s.socket.write(out);
          if (s.queued.length > 0) line(s);
          continue;
        }
        const batch = s.queued.length === 1 ? s.queued[0]! : Buffer.concat(s.queued);
        // A batch that ends inside a message sequence (a pipelining client's next query cut
        // before its Sync) is mid-query whatever the last ReadyForQuery said.
        const whole = SEQUENCE_ENDS.has(s.queued[s.queued.length - 1]![0]!);
        s.queued = [];
        noteListens(s, batch);
        const out = await run(batch);
        const status = deliver(s, out);
        // No ReadyForQuery yet (a message sequence cut before its Sync), or a transaction open:
        // the backend stays this connection's.
        owner = status === "I" && whole ? null : s;
        if (owner === s && s.closed) await abandon(s);
        if (!owner && s.queued.length > 0) line(s);
      }
    } finally {
      running = false;
    }
  };

  /** Writes an answer to its connection, notifications to their listeners; returns the last ReadyForQuery's status. */
  const deliver = (s: Session, out: Buffer): string | undefined => {
    let status: string | undefined;
    let notifications: Buffer[] | undefined;
    let rest: Buffer[] | undefined;
    for (const { type, start, end } of messages(out)) {
      if (type === 0x5a /* Z */) status = String.fromCharCode(out[start + 5]!);
      if (type !== 0x41 /* A */) {
        rest?.push(out.subarray(start, end));
        continue;
      }
      // The first notification splits the answer: what came before it is kept as one piece.
      rest ??= [out.subarray(0, start)];
      (notifications ??= []).push(out.subarray(start, end));
    }
    if (!s.closed) s.socket.write(rest ? Buffer.concat(rest) : out);
    for (const n of notifications ?? []) {
      const channel = n.toString("utf8", 9, n.indexOf(0, 9));
      for (const other of sessions) if (!other.closed && other.channels.has(channel)) other.socket.write(n);
    }
    return status;
  };

  /** A connection that went away with the backend still its: end its message sequence, roll back. */
  const abandon = async (s: Session) => {
    await db.runExclusive(async () => {
      await db.execProtocolRaw(Buffer.from([0x53 /* S */, 0, 0, 0, 4]), { syncToFs: false });
      if (db.isInTransaction()) await db.execProtocolRaw(simpleQuery("ROLLBACK"), { syncToFs: false });
    });
    if (owner === s) owner = null;
  };

  /** Drops prepared statements no connection can use any more (one that was never made is no harm). */
  const deallocate = (names: string[]) =>
    db
      .runExclusive(async () => {
        for (const name of names) await db.execProtocolRaw(simpleQuery(`DEALLOCATE "${name.replaceAll('"', '""')}"`), { syncToFs: false });
      })
      // The database closing meanwhile: nothing left to drop them from.
      .catch(() => {});

  const onData = (s: Session, chunk: Buffer) => {
    const buf = s.partial.length ? Buffer.concat([s.partial, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (!s.greeted) {
        // Before the startup packet: untyped messages, a length then a code.
        if (buf.length - at < 8) break;
        const len = buf.readInt32BE(at);
        const code = buf.readInt32BE(at + 4);
        if (len === 8 && code === SSL_REQUEST) {
          s.socket.write("N"); // no TLS on a Unix socket
          at += 8;
          continue;
        }
        if (code !== PROTOCOL_3) return void s.socket.destroy(); // a CancelRequest, or not Postgres
        if (buf.length - at < len) break;
        s.queued.push(buf.subarray(at, at + len));
        s.greeted = true;
        s.urgent = applicationName(buf.subarray(at + 8, at + len))?.endsWith(URGENT_APPLICATION_SUFFIX) ?? false;
        at += len;
        continue;
      }
      if (buf.length - at < 5) break;
      const end = at + 1 + buf.readInt32BE(at + 1);
      if (buf.length < end) break;
      if (buf[at] === 0x58 /* X: Terminate */) {
        s.socket.end();
        break;
      }
      s.queued.push(ownStatementNames(s, buf.subarray(at, end)));
      at = end;
    }
    s.partial = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    if (s.queued.length > 0) enqueue(s);
  };

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const s: Session = {
      socket,
      partial: Buffer.alloc(0),
      queued: [],
      greeted: false,
      started: false,
      channels: new Set(),
      closed: false,
      urgent: false,
      prefix: `c${++opened}_`,
      statements: new Set(),
    };
    sessions.add(s);
    socket.on("data", (chunk) => onData(s, chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      s.closed = true;
      s.queued = [];
      sessions.delete(s);
      const i = waiting.indexOf(s);
      if (i >= 0) waiting.splice(i, 1);
      orphaned.push(...s.statements);
      if (owner === s && !running) void abandon(s).then(pump);
      else if (orphaned.length > 0) void pump();
    });
  });

  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);

  return {
    connections: () => sessions.size,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.socket.destroy();
      await closed;
      while (running) await new Promise((r) => setTimeout(r, 5));
      if (db.isInTransaction()) await db.exec("ROLLBACK");
    },
  };
}

/** Messages after which a connection's sequence is complete: Sync, and a simple Query. */
const SEQUENCE_ENDS = new Set([0x53 /* S */, 0x51 /* Q */]);

/** The protocol messages in `buf` (each a type byte, then a length that counts itself). */
function* messages(buf: Buffer): Generator<{ type: number; start: number; end: number }> {
  for (let at = 0; at + 5 <= buf.length; ) {
    const end = at + 1 + buf.readInt32BE(at + 1);
    yield { type: buf[at]!, start: at, end };
    at = end;
  }
}

/**
 * Longer than any LISTEN the app sends (`Database.listen`: one short channel name, quoted); a
 * longer query is not read for one, so every other statement costs no decoding.
 */
const LONGEST_LISTEN = 200;

/** Records the channels a connection LISTENs on (and stops), from its simple queries. */
function noteListens(s: Session, batch: Buffer): void {
  for (const { type, start, end } of messages(batch)) {
    if (type !== 0x51 /* Q */ || end - start > LONGEST_LISTEN) continue;
    const text = batch.toString("utf8", start + 5, end - 1);
    const m = /^\s*(UN)?LISTEN\s+(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))\s*;?\s*$/i.exec(text);
    if (!m) continue;
    const channel = m[2] !== undefined ? m[2].replaceAll('""', '"') : m[3]!.toLowerCase();
    if (m[1]) s.channels.delete(channel);
    else s.channels.add(channel);
  }
}

/**
 * The message with its statement name made the connection's own (prefixed), in the messages
 * that name a statement: Parse, Bind (after its portal's name), and Describe and Close of a
 * statement (`S`). The unnamed statement is left as it is: it lives only until the next Parse,
 * within the connection's turn. Records the statements the connection prepares and closes.
 */
function ownStatementNames(s: Session, message: Buffer): Buffer {
  const type = message[0];
  let at: number;
  if (type === 0x50 /* P */) at = 5;
  else if (type === 0x42 /* B */) at = message.indexOf(0, 5) + 1;
  else if ((type === 0x44 /* D */ || type === 0x43) /* C */ && message[5] === 0x53 /* S */) at = 6;
  else return message;
  if (message[at] === 0) return message;
  const end = message.indexOf(0, at);
  const name = s.prefix + message.toString("utf8", at, end);
  if (type === 0x50) s.statements.add(name);
  else if (type === 0x43) s.statements.delete(name);
  const out = Buffer.concat([message.subarray(0, at), Buffer.from(name, "utf8"), message.subarray(end)]);
  out.writeInt32BE(out.length - 1, 1);
  return out;
}

/** A simple-protocol Query message. */
function simpleQuery(sql: string): Buffer {
  const text = Buffer.from(`${sql}\0`, "utf8");
  const head = Buffer.alloc(5);
  head[0] = 0x51;
  head.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([head, text]);
}

/** The `application_name` of a startup packet's parameters (NUL-ended names and values). */
function applicationName(params: Buffer): string | undefined {
  const fields = params.toString("utf8").split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "application_name") return fields[i + 1];
  return undefined;
}
