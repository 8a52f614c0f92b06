// Forwarded headers are believed only from a configured proxy: nobody picks their own address,
// scheme or host by writing a header.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config";
import { ProxyTrust } from "../../server/http/proxy-trust";

function request(peer: string, headers: Record<string, string> = {}, encrypted = false): IncomingMessage {
  return { socket: { remoteAddress: peer, encrypted }, headers } as unknown as IncomingMessage;
}

describe("ProxyTrust", () => {
  const trust = new ProxyTrust(["127.0.0.1", "10.0.0.0/8"]);

  it("uses the peer's own address when the peer is not a trusted proxy, whatever it claims", () => {
    const req = request("203.0.113.9", { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" , host: "app.example:3000" });
    expect(trust.clientAddress(req)).toBe("203.0.113.9");
    expect(trust.isSecure(req)).toBe(false);
    expect(trust.requestOrigin(req)).toBe("http://app.example:3000");
  });

  it("reads X-Forwarded-For right to left past trusted proxies", () => {
    // The client wrote "6.6.6.6" itself; nginx (127.0.0.1) appended the address it heard from.
    const req = request("::ffff:127.0.0.1", { "x-forwarded-for": "6.6.6.6, 198.51.100.7, 10.1.2.3" });
    expect(trust.clientAddress(req)).toBe("198.51.100.7");
  });

  it("believes a trusted proxy's scheme and host", () => {
    const req = request("127.0.0.1", { "x-forwarded-proto": "https", "x-forwarded-host": "chat.example", host: "127.0.0.1:3000" });
    expect(trust.isSecure(req)).toBe(true);
    expect(trust.requestOrigin(req)).toBe("https://chat.example");
  });

  it("trusts nobody by default", () => {
    const req = request("127.0.0.1", { "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https", host: "h:1" });
    const none = new ProxyTrust();
    expect(none.clientAddress(req)).toBe("127.0.0.1");
    expect(none.isSecure(req)).toBe(false);
    expect(none.isSecure(request("127.0.0.1", {}, true))).toBe(true);
  });

  it("is configured by TRUSTED_PROXIES, refusing what is not an address or range", () => {
    expect(loadConfig({ DATA_DIR: "/tmp", SESSION_SECRET: "x".repeat(32), TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8,::1" }).trustedProxies).toEqual(["127.0.0.1", "10.0.0.0/8", "::1"]);
    expect(() => loadConfig({ SESSION_SECRET: "x".repeat(32), TRUSTED_PROXIES: "nginx" })).toThrow(/TRUSTED_PROXIES/);
    expect(() => loadConfig({ SESSION_SECRET: "x".repeat(32), TRUSTED_PROXIES: "10.0.0.0/33" })).toThrow(/TRUSTED_PROXIES/);
  });
});
