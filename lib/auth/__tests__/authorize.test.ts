import { describe, expect, it } from "vitest";
import type { AccessLevel, Role } from "@/db/schema";
import type { Actor } from "../actor";
import { authorize, TWO_FACTOR_SET_UP_REQUIRED_MESSAGE, type AuthorizeOptions } from "../authorize";

const actor = (role: Role, key?: AccessLevel): Actor => ({
  userId: "u",
  email: "u@example.test",
  name: "U",
  role,
  ip: null,
  ...(key ? { apiKey: { id: "k", name: "k", accessLevel: key } } : {}),
});

const refused = (fn: () => void) => {
  try {
    fn();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
};

describe("authorize(actor, permission, { write, browserOnly })", () => {
  // [role, API key level or none, permission, options, the refusal or null]
  const cases: [Role, AccessLevel | undefined, Parameters<typeof authorize>[1], AuthorizeOptions, string | null][] = [
    ["staff", undefined, "keys.own", {}, null],
    ["lite", undefined, "keys.own", { message: "No keys for Lite." }, "No keys for Lite."],
    ["staff", undefined, "users.manage", {}, "You do not have permission to do that."],
    ["admin", undefined, "users.manage", { browserOnly: "Browser only." }, null],
    // The role is checked before the transport, so a lower role learns nothing more through a key.
    ["staff", "read_write", "users.manage", { browserOnly: "Browser only." }, "You do not have permission to do that."],
    ["admin", "read_write", "users.manage", { browserOnly: "Browser only." }, "Browser only."],
    ["admin", "read_only", "keys.own", { write: true }, "This API key is Read-only; use a Read & Write key to make changes."],
    ["admin", "read_write", "keys.own", { write: true }, null],
    ["read_only", "read_only", "keys.own", {}, null],
    ["staff", undefined, "keys.own", { write: true }, null],
    ["staff", "read_write", null, { browserOnly: "Sessions in the browser." }, "Sessions in the browser."],
    ["lite", undefined, null, {}, null],
  ];
  it.each(cases)("%s (key: %s) %s %j -> %s", (role, key, permission, options, expected) => {
    expect(refused(() => authorize(actor(role, key), permission, options))).toBe(expected);
  });
});

describe("authorize and the two-factor policy (a person who must set up 2FA first)", () => {
  const held: Actor = { ...actor("admin"), mustSetUpTwoFactor: true, confirmedAt: new Date() };
  // [who, permission, options, the refusal or null]
  const cases: [string, Actor, Parameters<typeof authorize>[1], AuthorizeOptions, string | null][] = [
    ["held back, an ordinary operation", held, "keys.own", {}, TWO_FACTOR_SET_UP_REQUIRED_MESSAGE],
    ["held back, a read", held, "users.manage", {}, TWO_FACTOR_SET_UP_REQUIRED_MESSAGE],
    ["held back, an operation that opts out (setting 2FA up)", held, null, { beforeTwoFactorSetUp: true }, null],
    // The permission still comes first: opting out never grants a role more.
    [
      "held back, opting out without the permission",
      { ...held, role: "staff" },
      "users.manage",
      { beforeTwoFactorSetUp: true },
      "You do not have permission to do that.",
    ],
    ["not held back", { ...held, mustSetUpTwoFactor: false }, "keys.own", {}, null],
    // The API is not affected: a key is its own credential.
    ["through an API key", { ...held, apiKey: { id: "k", name: "k", accessLevel: "read_write" } }, "keys.own", { write: true }, null],
  ];
  it.each(cases)("%s -> %s", (_what, who, permission, options, expected) => {
    expect(refused(() => authorize(who, permission, options))).toBe(expected);
  });
});
