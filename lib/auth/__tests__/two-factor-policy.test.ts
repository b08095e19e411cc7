import { describe, expect, it } from "vitest";
import { ROLE_VALUES, TWO_FACTOR_POLICY_VALUES } from "@/db/enums";
import type { Role, TwoFactorPolicy } from "@/db/schema";
import { mustSetUpTwoFactor, TWO_FACTOR_POLICY_LABELS, twoFactorRequired } from "../two-factor-policy";

describe("Require two-factor authentication: who must", () => {
  const who: Record<TwoFactorPolicy, Role[]> = {
    off: [],
    admins: ["owner", "admin"],
    everyone: ["owner", "admin", "staff", "read_only", "lite"],
  };
  const cases = TWO_FACTOR_POLICY_VALUES.flatMap((policy) =>
    ROLE_VALUES.map((role) => [policy, role, who[policy].includes(role)] as const),
  );

  it.each(cases)("%s, a person whose role is %s: required %s", (policy, role, required) => {
    expect(twoFactorRequired(policy, role)).toBe(required);
    expect(mustSetUpTwoFactor(policy, role, false)).toBe(required);
    // Once they have it on, nobody is sent to set it up.
    expect(mustSetUpTwoFactor(policy, role, true)).toBe(false);
  });

  it.each(TWO_FACTOR_POLICY_VALUES)("%s never covers a service account (it never signs in)", (policy) => {
    for (const role of ROLE_VALUES) {
      expect(twoFactorRequired(policy, role, "service_account")).toBe(false);
      expect(mustSetUpTwoFactor(policy, role, false, "service_account")).toBe(false);
    }
  });

  it("labels the choices as SPEC §12 names them", () => {
    expect(TWO_FACTOR_POLICY_LABELS).toEqual({ off: "Off", admins: "For Owners and Admins", everyone: "For everyone" });
  });
});
