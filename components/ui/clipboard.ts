"use client";

import { toast } from "sonner";

/** Copies `text` and says so in a toast (or that the browser refused). */
export async function copyToClipboard(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast.success(`${what} copied to the clipboard`);
  } catch {
    toast.error("Could not copy: your browser refused access to the clipboard.");
  }
}
