import { describe, expect, it } from "vitest";
import { jobSettings, readEnv } from "../env";

describe("job and mail settings", () => {
  it("runs the jobs every minute by default, not at all with 0, and sends no email without SMTP_URL", () => {
    expect(jobSettings(readEnv({}))).toEqual({ intervalMs: 60_000, mail: null });
    expect(jobSettings(readEnv({ LATCHKEY_JOB_INTERVAL_SECONDS: "0" })).intervalMs).toBe(0);
    expect(jobSettings(readEnv({ LATCHKEY_JOB_INTERVAL_SECONDS: "15", SMTP_URL: "" })).intervalMs).toBe(15_000);
  });

  it("takes smtp:// and smtps:// URLs, with a default From", () => {
    expect(jobSettings(readEnv({ SMTP_URL: "smtp://user:pass@mail.example.com:587" })).mail).toEqual({
      url: "smtp://user:pass@mail.example.com:587",
      from: "Latchkey <latchkey@localhost>",
    });
    expect(jobSettings(readEnv({ SMTP_URL: "smtps://mail.example.com", SMTP_FROM: "keys@example.com" })).mail).toEqual({
      url: "smtps://mail.example.com",
      from: "keys@example.com",
    });
  });

  it("refuses a malformed SMTP_URL or interval with a clear message that never repeats the password", () => {
    for (const [value, message] of [
      ["not a url", "SMTP_URL must be a URL such as smtp://user:password@mail.example.com:587"],
      ["http://user:hunter2@mail.example.com", "SMTP_URL must start with smtp:// or smtps://"],
      ["mail.example.com:587", "SMTP_URL must start with smtp:// or smtps://"],
    ] as const) {
      let error: Error | undefined;
      try {
        readEnv({ SMTP_URL: value });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).toContain(message);
      expect(error?.message).not.toContain("hunter2");
    }
    expect(() => readEnv({ LATCHKEY_JOB_INTERVAL_SECONDS: "-1" })).toThrow(/LATCHKEY_JOB_INTERVAL_SECONDS/);
    expect(() => readEnv({ LATCHKEY_JOB_INTERVAL_SECONDS: "often" })).toThrow(/LATCHKEY_JOB_INTERVAL_SECONDS/);
  });
});
