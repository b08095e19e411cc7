import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadlineExceededError } from "@/server/http/database-health";
import { withDeadline } from "../app";

afterEach(() => {
  vi.useRealTimers();
});

/** A promise settled from outside, when the test says. */
function pending<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

describe("withDeadline", () => {
  it("settles with the work when it finishes in time, and leaves no timer behind", async () => {
    vi.useFakeTimers();
    const work = pending<string>();
    const late = vi.fn();
    const answered = withDeadline(work.promise, 1_000, late);
    vi.advanceTimersByTime(999);
    work.resolve("done");
    await expect(answered).resolves.toBe("done");
    expect(vi.getTimerCount()).toBe(0);
    expect(late).not.toHaveBeenCalled();
  });

  it("passes on the work's failure when it comes in time (not to `late`)", async () => {
    vi.useFakeTimers();
    const work = pending<string>();
    const late = vi.fn();
    const answered = withDeadline(work.promise, 1_000, late);
    work.reject(new Error("refused"));
    await expect(answered).rejects.toThrow("refused");
    expect(vi.getTimerCount()).toBe(0);
    expect(late).not.toHaveBeenCalled();
  });

  it("rejects with DeadlineExceededError once the time is up, whatever the work does later", async () => {
    vi.useFakeTimers();
    const work = pending<string>();
    const answered = withDeadline(work.promise, 1_000);
    const settled = expect(answered).rejects.toBeInstanceOf(DeadlineExceededError);
    vi.advanceTimersByTime(1_000);
    await settled;
    work.resolve("too late");
    await Promise.resolve();
  });

  it("hands a failure after the deadline to `late`, so it is not lost", async () => {
    vi.useFakeTimers();
    const work = pending<string>();
    const late = vi.fn();
    const answered = withDeadline(work.promise, 1_000, late);
    const settled = expect(answered).rejects.toBeInstanceOf(DeadlineExceededError);
    vi.advanceTimersByTime(1_000);
    await settled;
    const failure = new Error("connection lost");
    work.reject(failure);
    await vi.waitFor(() => expect(late).toHaveBeenCalledWith(failure));
    expect(late).toHaveBeenCalledTimes(1);
  });
});
