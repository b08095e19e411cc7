import type { IncomingMessage, ServerResponse } from "node:http";
import { FixedWindowLimiter } from "@/server/api/rate-limit";
import { CLIENT_IP_HEADER } from "./client-ip";

/** Where the pages' Content-Security-Policy sends its violation reports (`report-uri`, proxy.ts). */
export const CSP_REPORT_PATH = "/csp-report";

/** A report is a few hundred bytes; a browser never sends more than this. */
const MAX_REPORT_BYTES = 8 * 1024;

/** Reports a minute per client address: a page with a violation reports it on every load, an attacker could more. */
const REPORTS_PER_MINUTE = 30;

/** What is kept of a URL in the log: its origin and path, never its query (a token could be in it). */
function withoutQuery(value: unknown): string {
  if (typeof value !== "string" || !value) return "-";
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return value.slice(0, 40); // "inline", "eval", "self"
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname}`.slice(0, 200);
  } catch {
    return "-";
  }
}

const field = (value: unknown, max = 80) => (typeof value === "string" ? value.replace(/[^\x20-\x7e]/g, "?").slice(0, max) : "-");

/**
 * The browsers' reports of what the pages' CSP blocked, each one line in the log: a page of ours
 * causing a violation is a defect (a script the nonce missed, an eval), and in production it is
 * seen nowhere else. Unauthenticated by nature (the browser sends it), so bounded: 8 KB, JSON only,
 * 30 a minute per address, nothing stored but the line, which never holds a query string.
 */
export function createCspReportHandler(options: { log?: (line: string) => void } = {}) {
  const log = options.log ?? ((line: string) => console.warn(line));
  const limiter = new FixedWindowLimiter(REPORTS_PER_MINUTE);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const answer = (status: number) => {
      res.writeHead(status, { "Cache-Control": "no-store", "Content-Length": 0 });
      res.end();
    };
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      answer(405);
      req.resume();
      return;
    }
    const ip = String(req.headers[CLIENT_IP_HEADER] ?? "unknown");
    if (!limiter.hit(ip).allowed || Number(req.headers["content-length"] ?? 0) > MAX_REPORT_BYTES) {
      answer(req.headers["content-length"] && Number(req.headers["content-length"]) > MAX_REPORT_BYTES ? 413 : 429);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REPORT_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_REPORT_BYTES) return answer(413);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return answer(400);
      }
      // report-uri's {"csp-report": {...}}, or the Reporting API's [{type, body}].
      const reports = Array.isArray(body)
        ? body.map((entry: { body?: Record<string, unknown> }) => entry?.body ?? {})
        : [(body as { "csp-report"?: Record<string, unknown> })?.["csp-report"] ?? {}];
      for (const report of reports.slice(0, 5)) {
        const directive = report["effective-directive"] ?? report.effectiveDirective ?? report["violated-directive"];
        const blocked = report["blocked-uri"] ?? report.blockedURL;
        const page = report["document-uri"] ?? report.documentURL;
        log(
          `[latchkey] csp violation: ${field(directive)} blocked ${withoutQuery(blocked)} on ${withoutQuery(page)} ` +
            `(${field(req.headers["user-agent"], 120)})`,
        );
      }
      answer(204);
    });
    req.on("error", () => answer(400));
  };
}
