import type { Metadata, Viewport } from "next";
import { Toaster } from "sonner";
import { CopyFallback } from "@/components/ui/clipboard";
import "./globals.css";

// Every page reads the database or the session and carries a per-request CSP nonce: nothing is
// prerendered at build time (which also keeps the build from ever opening the database).
export const dynamic = "force-dynamic";

export const metadata: Metadata = {
  title: { default: "Latchkey", template: "%s · Latchkey" },
  description: "Self-hosted API key management",
  referrer: "no-referrer",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        {children}
        {/* At the top: a toast never lies over the table row or card whose button was just pressed. */}
        <Toaster position="top-center" richColors closeButton />
        <CopyFallback />
      </body>
    </html>
  );
}
