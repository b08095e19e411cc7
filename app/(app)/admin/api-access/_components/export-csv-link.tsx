import { Download } from "lucide-react";
import { cn } from "@/components/ui/cn";

/**
 * Export CSV (SPEC §13): a plain link to the page's export route with the filters on screen, so
 * the browser downloads the file itself (streamed, named by the server) and it works before any
 * script loads. Looks like a secondary button.
 */
export function ExportCsvLink({ href, description }: { href: string; description: string }) {
  return (
    <a
      href={href}
      download
      title={description}
      className={cn(
        "inline-flex h-10 shrink-0 items-center gap-2 rounded-md border border-slate-300 bg-white px-4 text-sm font-medium text-slate-800",
        "transition-colors hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600",
      )}
    >
      <Download className="h-4 w-4" aria-hidden />
      Export CSV
    </a>
  );
}
