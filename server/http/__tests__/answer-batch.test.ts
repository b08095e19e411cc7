import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAnswerBatch } from "../answer-batch";

/** A response that records what was written to it, and begins (headersSent) on writeHead as Node's. */
function fakeResponse(log: string[], name: string, options: { refuse?: boolean } = {}) {
  const res = {
    headersSent: false,
    writeHead(status: number, headers: (string | number)[]) {
      if (options.refuse) throw new TypeError(`Invalid character in header content ["${String(headers[0])}"]`);
      res.headersSent = true;
      log.push(`${name} ${status} ${headers.join(",")}`);
      return res;
    },
    end(body: string) {
      log.push(`${name} body ${body}`);
      return res;
    },
  };
  return res as typeof res & ServerResponse;
}

/** A batch whose flushes are run by hand. */
function manualBatch() {
  const flushes: (() => void)[] = [];
  const batch = createAnswerBatch((flush) => flushes.push(flush));
  return { batch, flushes, runFlushes: () => flushes.splice(0).forEach((flush) => flush()) };
}

describe("answers batched once per turn of the event loop", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes nothing while the turn runs, then every answer in the order sent, with one flush", () => {
    const log: string[] = [];
    const { batch, flushes, runFlushes } = manualBatch();
    const a = fakeResponse(log, "a");
    const b = fakeResponse(log, "b");
    batch.send(a, 200, ["Content-Type", "application/json"], '{"data":"pong!"}');
    batch.send(b, 401, ["Content-Type", "application/json"], '{"code":401}');
    expect(log).toEqual([]);
    expect(a.headersSent).toBe(false);
    expect(flushes).toHaveLength(1);
    runFlushes();
    expect(log).toEqual([
      "a 200 Content-Type,application/json",
      'a body {"data":"pong!"}',
      "b 401 Content-Type,application/json",
      'b body {"code":401}',
    ]);
  });

  it("schedules a new flush for the next turn's answers", () => {
    const log: string[] = [];
    const { batch, flushes, runFlushes } = manualBatch();
    batch.send(fakeResponse(log, "a"), 200, [], "1");
    runFlushes();
    batch.send(fakeResponse(log, "b"), 200, [], "2");
    expect(flushes).toHaveLength(1);
    runFlushes();
    expect(log).toEqual(["a 200 ", "a body 1", "b 200 ", "b body 2"]);
  });

  it("drops a second answer to the same response: the deadline's 503 went first, the late answer has no one to go to", () => {
    const log: string[] = [];
    const { batch, runFlushes } = manualBatch();
    const res = fakeResponse(log, "r");
    batch.send(res, 503, [], "late");
    batch.send(res, 200, [], "answer");
    runFlushes();
    batch.send(res, 200, [], "later still");
    runFlushes();
    expect(log).toEqual(["r 503 ", "r body late"]);
  });

  it("an answer Node refuses to write is logged and keeps none of the others back", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const log: string[] = [];
    const { batch, runFlushes } = manualBatch();
    batch.send(fakeResponse(log, "a"), 200, [], "1");
    batch.send(fakeResponse(log, "bad", { refuse: true }), 200, ["X-Bad\n"], "2");
    batch.send(fakeResponse(log, "c"), 200, [], "3");
    runFlushes();
    expect(log).toEqual(["a 200 ", "a body 1", "c 200 ", "c body 3"]);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0]![0])).toContain("could not write an API answer");
  });

  it("on a real node:http server: the answer leaves after the handler returns, and arrives whole", async () => {
    const batch = createAnswerBatch();
    const sentInHandler: boolean[] = [];
    const server = createServer((req, res) => {
      const body = JSON.stringify({ path: req.url });
      batch.send(res, 200, ["Content-Type", "application/json", "Content-Length", Buffer.byteLength(body)], body);
      sentInHandler.push(res.headersSent);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request({ port, host: "127.0.0.1", path }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        })
          .on("error", reject)
          .end();
      });
    try {
      const answers = await Promise.all(["/a", "/b", "/c"].map(get));
      expect(answers).toEqual(["/a", "/b", "/c"].map((path) => ({ status: 200, body: JSON.stringify({ path }) })));
      expect(sentInHandler).toEqual([false, false, false]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
