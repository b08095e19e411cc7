"use client";

import { useEffect, useId, useState } from "react";
import { toast } from "sonner";
import { Button } from "./button";
import { Dialog, DialogContent } from "./dialog";
import { inputClass } from "./field";

/**
 * Copying to the clipboard in every engine. A browser lets a page write to the clipboard only
 * while the click that asked for it is fresh: WebKit (Safari) refuses a write made after the page
 * awaited anything, and Chromium and Firefox one made seconds later. So the write is handed to the
 * browser inside the click, with a ClipboardItem whose content is a promise of the text (the key
 * still to come from the server). Where a browser refuses anyway, the text is shown selected in a
 * field with how to copy it by hand (CopyFallback): never an error that blames anyone.
 */

type Fallback = { text: string; what: string } | null;
const listeners = new Set<(fallback: Fallback) => void>();

function showFallback(text: string, what: string): void {
  for (const listener of listeners) listener({ text, what });
}

function copied(what: string): void {
  toast.success(`${what} copied to the clipboard.`);
}

/** Copies `text`, known now (a shown-once key, recovery codes). */
export function copyText(text: string, what: string): Promise<void> {
  return copyPending(Promise.resolve(text), what);
}

/**
 * Copies the text `pending` resolves to (null: there is nothing to copy, and whoever loaded it
 * has said why). Call it inside the click handler, before awaiting anything.
 */
export function copyPending(pending: Promise<string | null>, what: string): Promise<void> {
  const clipboard = typeof navigator === "undefined" ? undefined : navigator.clipboard;
  let write: Promise<void>;
  if (clipboard?.write && typeof ClipboardItem !== "undefined") {
    const blob = pending.then((text) => {
      if (text === null) throw new Error("nothing to copy");
      return new Blob([text], { type: "text/plain" });
    });
    // Rejections are handled through `write` below; this one must not be reported on its own.
    blob.catch(() => {});
    try {
      write = clipboard.write([new ClipboardItem({ "text/plain": blob })]);
    } catch (error) {
      write = Promise.reject(error);
    }
  } else {
    write = pending.then((text) => (text === null ? Promise.reject(new Error("nothing to copy")) : clipboard!.writeText(text)));
  }
  return write.then(
    () => copied(what),
    async () => {
      const text = await pending.catch(() => null);
      if (text !== null) showFallback(text, what);
    },
  );
}

/**
 * Where a browser refused the write: the text, selected in a read-only field, and how to copy it.
 * Mounted once, in the root layout, beside the toasts.
 */
export function CopyFallback() {
  const [fallback, setFallback] = useState<Fallback>(null);
  const id = useId();
  useEffect(() => {
    listeners.add(setFallback);
    return () => void listeners.delete(setFallback);
  }, []);
  const mac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  return (
    <Dialog open={fallback !== null} onOpenChange={(open) => !open && setFallback(null)}>
      {fallback ? (
        <DialogContent title={`Copy the ${fallback.what}`}>
          <label htmlFor={id} className="mb-1.5 block text-sm font-medium text-slate-800">
            {fallback.what}
          </label>
          <input
            id={id}
            readOnly
            value={fallback.text}
            onFocus={(event) => event.currentTarget.select()}
            onCopy={() => {
              // After the copy itself: closing at once would take the selection away before the
              // browser has read it.
              const { what } = fallback;
              setTimeout(() => {
                setFallback(null);
                copied(what);
              }, 0);
            }}
            className={`${inputClass} font-mono text-xs`}
          />
          <p className="mt-2 text-sm text-slate-700" role="status">
            It is selected: press {mac ? "⌘C" : "Ctrl+C"} to copy it{mac ? "" : " (⌘C on a Mac)"}.
          </p>
          <div className="mt-4 flex justify-end">
            <Button variant="secondary" onClick={() => setFallback(null)}>
              Done
            </Button>
          </div>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}
