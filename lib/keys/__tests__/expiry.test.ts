import { describe, expect, it } from "vitest";
import {
  allowedExpirationChoices,
  checkExpiry,
  defaultExpirationChoice,
  endOfUtcDay,
  expiresAtFor,
  expiryProblemMessage,
  isExpired,
  isOverPolicy,
  latestAllowedExpiry,
} from "../expiry";

const now = new Date("2026-11-28T10:00:00Z");
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);

describe("key expiry", () => {
  it("turns each Expiration choice into a moment, a custom date into 23:59:59 UTC that day", () => {
    expect(expiresAtFor("7d", undefined, now)).toEqual(days(7));
    expect(expiresAtFor("30d", undefined, now)).toEqual(days(30));
    expect(expiresAtFor("90d", undefined, now)).toEqual(days(90));
    expect(expiresAtFor("1y", undefined, now)).toEqual(days(365));
    expect(expiresAtFor("never", undefined, now)).toBeNull();
    expect(expiresAtFor("custom", "2027-01-31", now)).toEqual(new Date("2027-01-31T23:59:59Z"));
    expect(expiresAtFor("custom", undefined, now)).toBeUndefined();
  });

  it.each(["2027-02-30", "2027-13-01", "27-01-01", "2027-1-1", "tomorrow", ""])("refuses the custom date %j", (date) => {
    expect(endOfUtcDay(date)).toBeNull();
    expect(expiresAtFor("custom", date, now)).toBeUndefined();
  });

  it("accepts a future expiry within the policy; refuses a past one, a missing one under a policy, a later one", () => {
    expect(checkExpiry(days(10), null, now)).toBeNull();
    expect(checkExpiry(null, null, now)).toBeNull();
    expect(checkExpiry(now, null, now)).toBe("past");
    expect(checkExpiry(days(-1), null, now)).toBe("past");
    expect(checkExpiry(null, 30, now)).toBe("required");
    expect(checkExpiry(days(31), 30, now)).toBe("over_policy");
    // The last day the policy reaches counts whole, so a custom date on it is allowed.
    expect(checkExpiry(endOfUtcDay("2026-12-28"), 30, now)).toBeNull();
    expect(checkExpiry(endOfUtcDay("2026-12-29"), 30, now)).toBe("over_policy");
    expect(latestAllowedExpiry(30, now)).toEqual(new Date("2026-12-28T23:59:59Z"));
    expect(latestAllowedExpiry(null, now)).toBeNull();
  });

  it("words each problem, naming the policy", () => {
    expect(expiryProblemMessage("past", null)).toBe("The expiration must be in the future.");
    expect(expiryProblemMessage("required", 90)).toContain("within 90 days");
    expect(expiryProblemMessage("over_policy", 365)).toContain("at most 1 year");
  });

  it("offers only the choices a policy allows, and a default among them", () => {
    expect(allowedExpirationChoices(null)).toEqual(["7d", "30d", "90d", "1y", "custom", "never"]);
    expect(allowedExpirationChoices(90)).toEqual(["7d", "30d", "90d", "custom"]);
    expect(allowedExpirationChoices(30)).toEqual(["7d", "30d", "custom"]);
    expect(defaultExpirationChoice(null)).toBe("90d");
    expect(defaultExpirationChoice(180)).toBe("90d");
    expect(defaultExpirationChoice(30)).toBe("30d");
  });

  it("knows an expired key and a key over the policy", () => {
    expect(isExpired(null, now)).toBe(false);
    expect(isExpired(days(1), now)).toBe(false);
    expect(isExpired(now, now)).toBe(true);
    expect(isOverPolicy(null, null, now)).toBe(false);
    expect(isOverPolicy(null, 90, now)).toBe(true);
    expect(isOverPolicy(days(365), 90, now)).toBe(true);
    expect(isOverPolicy(days(60), 90, now)).toBe(false);
  });
});
