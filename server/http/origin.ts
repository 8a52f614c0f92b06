// Cross-site request forgery, closed at the door: a browser tells the server which page sent a
// request (`Origin`, or `Sec-Fetch-Site` when it sends no Origin), and state-changing calls must
// carry JSON, which a cross-site `<form>` cannot send and a cross-site `fetch` can only send
// after a CORS preflight this server never grants. Scripts and curl send neither header and
// are not browsers: nobody's cookie rides along with them unasked, so they pass.
import type { IncomingMessage } from "node:http";
import { HttpError } from "./respond";
import type { ProxyTrust } from "./proxy-trust";

/** Methods that change something: the ones CSRF is about. */
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function isStateChanging(method: string | undefined): boolean {
  return STATE_CHANGING.has((method ?? "GET").toUpperCase());
}

/**
 * True when the browser says the request came from a page of another origin: its `Origin`
 * differs from the app's own (scheme, host and port, as the browser addressed the app — through
 * a trusted proxy, as the proxy says) and from every ALLOWED_ORIGINS entry; or, without an
 * Origin, `Sec-Fetch-Site` is `cross-site` or `same-site` (a sibling subdomain or another port
 * of the same host is another origin). `null` (a sandboxed frame, a redirect) is foreign too.
 */
export function isForeignOrigin(req: IncomingMessage, trust: ProxyTrust, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) {
    const site = req.headers["sec-fetch-site"];
    return site === "cross-site" || site === "same-site";
  }
  let claimed: string;
  try {
    claimed = new URL(origin).origin;
  } catch {
    return true;
  }
  if (claimed === "null") return true;
  if (allowed.some((a) => sameOrigin(a, claimed))) return false;
  return claimed !== trust.requestOrigin(req);
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === b;
  } catch {
    return false;
  }
}

/** True when the body is declared `application/json` (parameters such as charset allowed). */
export function isJsonRequest(req: IncomingMessage): boolean {
  const type = req.headers["content-type"];
  if (!type) return false;
  return type.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/**
 * The refusal for a state-changing request a browser may have been tricked into sending, or
 * null when it may go on. Another origin first (403): that is the attack, whatever it carries.
 */
export function csrfRefusal(req: IncomingMessage, trust: ProxyTrust, allowed: readonly string[]): HttpError | null {
  if (!isStateChanging(req.method)) return null;
  if (isForeignOrigin(req, trust, allowed)) {
    return new HttpError("forbidden_origin", "Requests from another origin cannot change anything here");
  }
  if (!isJsonRequest(req)) {
    return new HttpError("unsupported_media_type", "Send the request with Content-Type: application/json");
  }
  return null;
}
