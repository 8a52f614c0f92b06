// Next's request proxy (the file Next 16 runs before rendering a page): gives every page view a
// fresh script nonce and the Content-Security-Policy that names it. Next reads the policy from
// the request's headers while rendering and puts the nonce on its own scripts; anything else
// inline (an injected `<script>`, an `onerror=` attribute) is refused by the browser.
// The custom server answers the API itself and sets the API's headers there (server/app.ts).
import { NextResponse, type NextRequest } from "next/server";
import { COMMON_SECURITY_HEADERS, pageContentSecurityPolicy } from "./lib/security-headers";

export function proxy(request: NextRequest): NextResponse {
  // 16 random bytes: unguessable, and new for every response.
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const policy = pageContentSecurityPolicy(nonce, process.env.NODE_ENV === "development");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("Content-Security-Policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", policy);
  for (const [name, value] of Object.entries(COMMON_SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}

export const config = {
  matcher: [
    // Pages only: not static files (no scripts run from them) nor prefetches of the same pages.
    {
      source: "/((?!api|_next/static|_next/image|favicon.svg|favicon.ico).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
