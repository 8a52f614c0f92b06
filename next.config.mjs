/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The custom server answers /api/stream, /api/poll and /ws itself, before Next sees them,
  // so Next's compression never touches an event stream.
  compress: true,
  typescript: {
    // `npm run typecheck` checks the whole project (server included) with tsc.
    ignoreBuildErrors: true,
  },
  devIndicators: false,
  // Server code lives outside app/ and is never bundled into pages.
  outputFileTracingExcludes: { "*": ["./.data/**", "./bench/**"] },
};

export default nextConfig;
