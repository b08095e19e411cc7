import { describe, expect, it } from "vitest";
import { accessManagerSearch, DEFAULT_ACCESS_MANAGER_QUERY, parseAccessManagerQuery, type AccessManagerQuery } from "../admin";
import { keyPolicySchema } from "../settings";

describe("the Access Manager's URL state", () => {
  it.each<Partial<AccessManagerQuery>>([
    {},
    { expires: "expired" },
    { expires: "7d", last_used: "90d" },
    { status: "expired", over_policy: true },
    { q: "billing", expires: "never", last_used: "never", over_policy: true, sort: "expiresAt", dir: "asc", page: 3, size: 50 },
  ])("%j survives a round trip through its query string", (change) => {
    const query = { ...DEFAULT_ACCESS_MANAGER_QUERY, ...change };
    const search = accessManagerSearch(query);
    expect(parseAccessManagerQuery(new URLSearchParams(search.slice(1)))).toEqual(query);
  });

  it("leaves defaults and unset filters out of the URL", () => {
    expect(accessManagerSearch(DEFAULT_ACCESS_MANAGER_QUERY)).toBe("");
    expect(accessManagerSearch({ ...DEFAULT_ACCESS_MANAGER_QUERY, over_policy: undefined, expires: "30d" })).toBe("?expires=30d");
  });
});

describe("the key policy form", () => {
  it.each([
    [
      { max_key_lifetime_days: "none", disable_unused_after_days: "none" },
      { max_key_lifetime_days: null, disable_unused_after_days: null },
    ],
    [
      { max_key_lifetime_days: "30", disable_unused_after_days: "365" },
      { max_key_lifetime_days: 30, disable_unused_after_days: 365 },
    ],
    [
      { max_key_lifetime_days: 180, disable_unused_after_days: null },
      { max_key_lifetime_days: 180, disable_unused_after_days: null },
    ],
  ])("%j -> %j", (input, expected) => {
    expect(keyPolicySchema.parse(input)).toEqual(expected);
  });

  it.each([
    { max_key_lifetime_days: "60", disable_unused_after_days: "none" },
    { max_key_lifetime_days: "none", disable_unused_after_days: "0" },
  ])("refuses %j", (input) => {
    expect(keyPolicySchema.safeParse(input).success).toBe(false);
  });
});
