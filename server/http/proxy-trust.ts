// Who is asking, and through what: the client's address, scheme and origin of a request.
// `X-Forwarded-*` headers are believed only when the peer that sent them is a proxy named in
// TRUSTED_PROXIES; from anyone else they are a client's claim and ignored, so nobody can pick
// their own address (to dodge a per-address cap) or their own host (to pass the Origin check).
import { BlockList, isIP } from "node:net";
import type { IncomingMessage } from "node:http";

export class ProxyTrust {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  /** `proxies`: IP addresses or CIDR ranges (`10.0.0.0/8`, `::1`, `127.0.0.1/32`). */
  constructor(proxies: readonly string[] = []) {
    for (const entry of proxies) {
      const [address, bits] = entry.split("/") as [string, string | undefined];
      const family = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.trusted.addAddress(address, family);
      else this.trusted.addSubnet(address, Number(bits), family);
    }
    this.any = proxies.length > 0;
  }

  /** True when `address` is one of the configured proxies. */
  isTrusted(address: string | undefined): boolean {
    if (!this.any || !address) return false;
    const plain = unmapIPv4(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.trusted.check(plain, family === 6 ? "ipv6" : "ipv4");
  }

  /**
   * The client's address: the peer's own, or — when the peer is a trusted proxy — the nearest
   * address in `X-Forwarded-For` that is not itself a trusted proxy (read right to left, since
   * each proxy appends the address it heard from and a client may write anything at the left).
   */
  clientAddress(req: IncomingMessage): string {
    const peer = unmapIPv4(req.socket.remoteAddress ?? "unknown");
    if (!this.isTrusted(peer)) return peer;
    const hops = headerList(req.headers["x-forwarded-for"]);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapIPv4(hops[i]!);
      if (isIP(hop) === 0) return peer;
      if (!this.isTrusted(hop)) return hop;
    }
    return hops.length > 0 ? unmapIPv4(hops[0]!) : peer;
  }

  /** True when the original request was HTTPS: the socket's own TLS, or a trusted proxy's word. */
  isSecure(req: IncomingMessage): boolean {
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    if (!this.isTrusted(req.socket.remoteAddress)) return false;
    return headerList(req.headers["x-forwarded-proto"])[0] === "https";
  }

  /**
   * The origin (`scheme://host[:port]`) the browser addressed: from `Host` and the socket, or
   * from `X-Forwarded-Host`/`-Proto` when a trusted proxy sent them. Null without a Host.
   */
  requestOrigin(req: IncomingMessage): string | null {
    const viaProxy = this.isTrusted(req.socket.remoteAddress);
    const host = (viaProxy ? headerList(req.headers["x-forwarded-host"])[0] : undefined) ?? req.headers.host;
    if (!host) return null;
    try {
      return new URL(`${this.isSecure(req) ? "https" : "http"}://${host}`).origin;
    } catch {
      return null;
    }
  }
}

function headerList(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) is `127.0.0.1`. */
function unmapIPv4(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
