// Small helpers for answering HTTP requests: JSON bodies in, JSON and errors out.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { ErrorCode, MAX_BODY_BYTES, type ErrorBody } from "../../lib/protocol";
import { paceRefusal } from "./refusal-pacing";

/**
 * An error with a PROTOCOL.md code; its status comes from the one table in lib/protocol.
 *
 * It is an answer, not a fault: it carries no stack trace. Capturing one costs more than the
 * rest of a refusal, and a flood of refused requests (429s by the thousand) would pay it for
 * every one.
 */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. `Retry-After` on a `429`. */
    readonly headers: Record<string, string> = {},
    /** The room refused (protocol 1.16): a poll naming several streams says which one it was. */
    readonly room?: string,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
  get status(): number {
    return ErrorCode[this.code];
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}

/**
 * Answers with the error's status and `{"error":{code,message}}` (and `room`, when it names
 * one). A refusal that tells the client when to come back (`Retry-After`) goes out paced: see
 * refusal-pacing.ts.
 */
export function sendError(res: ServerResponse, err: HttpError, headers: Record<string, string> = {}): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.room === undefined ? {} : { room: err.room }) } };
  const all = { ...err.headers, ...headers };
  const retryAfterS = Number(all["Retry-After"]);
  if (retryAfterS > 0 && all.Connection !== "close") return paceRefusal(res, retryAfterS, () => sendJson(res, err.status, body, all));
  sendJson(res, err.status, body, all);
}

export function sendEmpty(res: ServerResponse, status = 204, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Cache-Control": "no-store", ...headers });
  res.end();
}

/**
 * How long a request body may go without a byte before it is refused (408). A client that
 * stops sending halfway would otherwise hold its connection, and a handler, for good.
 */
export const BODY_IDLE_TIMEOUT_MS = 10_000;

/** Reads a JSON body of at most `limit` (64 KiB) and validates it; throws HttpError with the right code. */
export async function readJson<S extends z.ZodType>(
  req: IncomingMessage,
  schema: S,
  invalid: ErrorCode = "invalid_body",
  idleTimeoutMs = BODY_IDLE_TIMEOUT_MS,
  limit = MAX_BODY_BYTES,
): Promise<z.infer<S>> {
  const raw = await readBody(req, limit, idleTimeoutMs);
  let value: unknown;
  try {
    value = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError("bad_json", "The request body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new HttpError(invalid, `${where}${issue?.message ?? "invalid body"}`);
  }
  return parsed.data;
}

/** Reads a body of at most `limit` bytes, refusing one that goes `idleTimeoutMs` without a byte. */
export function readBody(req: IncomingMessage, limit: number, idleTimeoutMs = BODY_IDLE_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new HttpError("payload_too_large", `The request body is larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | null = null;
    const stop = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      req.removeListener("data", onData);
    };
    const fail = (err: unknown) => {
      stop();
      reject(err);
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        // The answer goes out with `Connection: close` (the rest of the body never comes).
        fail(new HttpError("request_timeout", `The request body stopped arriving for ${idleTimeoutMs} ms`));
      }, idleTimeoutMs);
      timer.unref();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        fail(new HttpError("payload_too_large", `The request body is larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
      arm();
    };
    req.on("data", onData);
    req.once("end", () => {
      stop();
      resolve(Buffer.concat(chunks));
    });
    req.once("error", fail);
    if (!req.complete) arm();
  });
}
