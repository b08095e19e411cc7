import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { answerDatabaseUnavailable, DatabaseHealth, DeadlineExceededError, isDatabaseUnavailable, needsDatabase } from "../database-health";

const withCode = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("which errors mean the database is unreachable", () => {
  it.each([
    "ECONNREFUSED",
    "ECONNRESET",
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECTION_DESTROYED",
    "CONNECT_TIMEOUT",
    "08006",
    "08001",
    "57P01",
    "57P02",
    "57P03",
    "53300",
  ])("%s, also wrapped as a failed query's cause", (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Failed query: select 1\nparams: ", { cause: withCode(code) }))).toBe(true);
  });

  it("a refusal on every address of a host name, and a missed deadline", () => {
    expect(isDatabaseUnavailable(new AggregateError([withCode("ECONNREFUSED"), withCode("ECONNREFUSED")]))).toBe(true);
    expect(isDatabaseUnavailable(new DeadlineExceededError(1500))).toBe(true);
  });

  it.each(["23505", "42P01", "P0001", "22P02", "57014", "40001"])("not %s: a query's own failure", (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(false);
  });

  it("not an error without a code, nor something that is not an error", () => {
    expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
    expect(isDatabaseUnavailable("ECONNREFUSED")).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe("the breaker", () => {
  it("opens on an unreachable-database error only, and without a monitor closes after the cool-down", () => {
    const health = new DatabaseHealth({ cooldownMs: 60_000 });
    expect(health.report(withCode("23505"))).toBe(false);
    expect(health.available).toBe(true);
    expect(health.report(withCode("ECONNREFUSED"))).toBe(true);
    expect(health.available).toBe(false);
    const closing = new DatabaseHealth({ cooldownMs: 0 });
    closing.report(withCode("57P01"));
    expect(closing.available).toBe(true);
  });
});

describe("pages and server actions while the database is down", () => {
  function answer(headers: Record<string, string>) {
    const written: { status?: number; headers?: Record<string, string | number>; body?: string } = {};
    const res = {
      writeHead(status: number, head: Record<string, string | number>) {
        written.status = status;
        written.headers = head;
      },
      end(body: string) {
        written.body = body;
      },
    } as unknown as ServerResponse;
    answerDatabaseUnavailable({ headers } as IncomingMessage, res);
    return written;
  }

  it("a page gets a 503 HTML page with Retry-After; a server action or JSON client gets the JSON error", () => {
    const page = answer({ accept: "text/html" });
    expect(page.status).toBe(503);
    expect(page.headers?.["Retry-After"]).toBe("2");
    expect(page.headers?.["Content-Type"]).toMatch(/^text\/html/);
    const action = answer({ "next-action": "abc123", accept: "text/x-component" });
    expect(action.status).toBe(503);
    expect(JSON.parse(action.body!)).toMatchObject({ code: 503, param: null });
  });

  it("static files are served without the database", () => {
    expect(needsDatabase("/_next/static/chunks/app.js")).toBe(false);
    expect(needsDatabase("/profile")).toBe(true);
    expect(needsDatabase("/sign-in")).toBe(true);
  });
});
