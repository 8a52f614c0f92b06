// The security headers of every answer: one list, used by the custom server for its own API
// answers and by proxy.ts for the pages (which add a per-request script nonce to the policy).

/** On every answer, page or API: no MIME sniffing, no framing, no full URLs leaked in Referer. */
export const COMMON_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  // For browsers older than CSP's frame-ancestors: the signed-in app never renders in a frame,
  // so a page elsewhere cannot overlay it and trick clicks (clickjacking).
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "strict-origin-when-cross-origin",
};

/** JSON and metrics are never documents: they may load nothing and be framed by nobody. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * The pages' policy. Scripts run only from this origin or with this request's nonce (Next puts
 * it on its own inline scripts, read from this header); `'strict-dynamic'` lets those scripts
 * load the page's chunks. No `'unsafe-inline'` for scripts: an injected `<script>` or `onclick`
 * does not run. Styles allow inline `style` attributes (positions and colours set by React);
 * CSS cannot run code. `connect-src 'self'` covers fetch, EventSource and the same-origin
 * WebSocket. Development adds `'unsafe-eval'`, which React's dev build needs for its stacks.
 */
export function pageContentSecurityPolicy(nonce: string, dev = false): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
