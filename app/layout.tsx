import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import { AppShell } from "@/components/shell/app-shell";
import "./globals.css";

export const metadata: Metadata = {
  title: "Realtime Workspace",
  description: "Chat, presence, live cursors, an activity feed and notifications — realtime on the web, done right.",
  // A file in public/, not app/icon.svg: one static file, served as is, with no route generated for it.
  icons: { icon: [{ url: "/favicon.svg", type: "image/svg+xml" }] },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Rendered per request, never prerendered at build time: Next can put this request's CSP
  // nonce (proxy.ts) on its scripts only while rendering with the request in hand.
  await connection();
  return (
    <html lang="en">
      <body className="h-full bg-slate-50 text-slate-900 antialiased">
        <AppShell>{children}</AppShell>
      </body>
    </html>
  );
}
