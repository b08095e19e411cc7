import { describe, expect, it } from "vitest";
import type { AccessLevel, Role } from "@/db/schema";
import type { Actor } from "../actor";
import { authorize, type AuthorizeOptions } from "../authorize";

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
