import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { serverLogPath } from "./server-log";

// After every other project: what the server of this run logged while every spec drove it, in
// every engine (e2e/server.ts writes it). No page of ours may cause a Content-Security-Policy
// violation (the browsers report each one: report-uri), and nothing may be answered with a 5xx.

const lines = () => fs.readFileSync(serverLogPath(process.env.E2E_PORT ?? 3100), "utf8").split("\n");

test("no CSP violation was reported, from any page, in any engine", () => {
  expect(lines().filter((line) => line.includes("csp violation"))).toEqual([]);
});

test("no request was answered with a 5xx", () => {
  const faults = lines()
    .filter((line) => line.startsWith("[e2e] answer "))
    .map((line) => JSON.parse(line.slice("[e2e] answer ".length)) as { status: number; method: string; url: string })
    .filter((answer) => answer.status >= 500);
  expect(faults).toEqual([]);
});
