import { describe, expect, it } from "vitest";
import { NOTIFICATION_KINDS } from "../kinds";
import { describeNotification } from "../wording";

describe("describeNotification", () => {
  it("words every kind plainly, naming the key and nothing secret", () => {
    const at = "2026-12-05T14:30:00.000Z";
    const cases = {
      key_expiring: [{ days: 7, expires_at: at }, 'Your API key "ci" expires within 7 days', "It stops working on 5 Dec 2026, 14:30 UTC."],
      key_expired: [{ expires_at: at }, 'Your API key "ci" has expired', "It expired on 5 Dec 2026, 14:30 UTC and the API refuses it."],
      key_disabled_by_admin: [{ by: "Ada" }, 'Your API key "ci" was disabled by an admin', "Ada disabled it in the API Access Manager"],
      key_deleted_by_admin: [{ by: "Ada" }, 'Your API key "ci" was deleted by an admin', "Ada deleted it in the API Access Manager."],
      key_disabled_unused: [{ days: 90 }, 'Your API key "ci" was disabled because it was not used for 90 days', "enable it again"],
      role_changed: [
        { from: "admin", to: "lite", deleted_keys: ["ci", "deploy"], by: "Olivia" },
        "Your role is now Lite",
        'which were deleted: "ci", "deploy".',
      ],
    } as const;
    for (const kind of NOTIFICATION_KINDS) {
      const [data, title, bodyPart] = cases[kind];
      const text = describeNotification({ kind, keyName: "ci", data });
      expect(text.title, kind).toBe(title);
      expect(text.body, kind).toContain(bodyPart);
    }
  });

  it("says 1 day, 1 year, and a role change without deleted keys", () => {
    expect(describeNotification({ kind: "key_expiring", keyName: "k", data: { days: 1 } }).title).toBe(
      'Your API key "k" expires within 1 day',
    );
    expect(describeNotification({ kind: "key_expiring", keyName: "k", data: { days: 1 } }).body).toContain("It stops working soon.");
    expect(describeNotification({ kind: "key_disabled_unused", keyName: "k", data: { days: 365 } }).title).toContain("not used for 1 year");
    expect(describeNotification({ kind: "role_changed", keyName: null, data: { from: "staff", to: "admin", deleted_keys: [] } }).body).toBe(
      "An admin changed your role from Staff to Admin.",
    );
  });

  it("survives malformed data (an old or hand-made row) without showing it", () => {
    const odd = describeNotification({ kind: "role_changed", keyName: null, data: { from: 3, to: "<script>", deleted_keys: "x" } });
    expect(odd).toEqual({ title: "Your role is now another role", body: "An admin changed your role from another role to another role." });
    expect(describeNotification({ kind: "key_expired", keyName: null, data: { expires_at: "never" } }).title).toBe(
      'Your API key "an API key" has expired',
    );
    expect(describeNotification({ kind: "something_new", keyName: "k", data: {} })).toEqual({
      title: "Latchkey notice",
      body: "Something changed in your account.",
    });
  });
});
