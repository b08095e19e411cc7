import type { MetadataRoute } from "next";

/** What a phone shows when Latchkey is added to its home screen (icons from scripts/generate-icons.ts). */
export default function manifest(): MetadataRoute.Manifest {
  return {
    name: "Latchkey",
    short_name: "Latchkey",
    description: "Self-hosted API key management",
    start_url: "/profile",
    display: "standalone",
    background_color: "#ffffff",
    theme_color: "#4f46e5",
    icons: [
      { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png" },
      { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png" },
      { src: "/icon.svg", sizes: "any", type: "image/svg+xml" },
    ],
  };
}
