import { describe, expect, it } from "vitest";
import type { Role } from "@/db/schema";
import { allowedAccessLevels, can, canManageUser, keysDeletedByRoleChange, ROLES, type Permission } from "../permissions";

// SPEC §2, written out cell by cell: the table is the test.
const MATRIX: Record<Permission, Record<Role, boolean>> = {
  "keys.own": { owner: true, admin: true, staff: true, read_only: true, lite: false },
  "keys.readWrite": { owner: true, admin: true, staff: true, read_only: false, lite: false },
  "keys.manageAll": { owner: true, admin: true, staff: false, read_only: false, lite: false },
  "users.manage": { owner: true, admin: true, staff: false, read_only: false, lite: false },
  "audit.read": { owner: true, admin: true, staff: false, read_only: false, lite: false },
  "settings.manage": { owner: true, admin: true, staff: false, read_only: false, lite: false },
  "ownership.transfer": { owner: true, admin: false, staff: false, read_only: false, lite: false },
};

describe("the role matrix", () => {
  for (const [permission, row] of Object.entries(MATRIX) as [Permission, Record<Role, boolean>][]) {
    for (const role of ROLES) {
      it(`${role} ${row[role] ? "may" : "may not"} ${permission}`, () => {
        expect(can(role, permission)).toBe(row[role]);
      });
    }
  }

  it.each([
    ["owner", ["read_only", "read_write"]],
    ["admin", ["read_only", "read_write"]],
    ["staff", ["read_only", "read_write"]],
    ["read_only", ["read_only"]],
    ["lite", []],
  ] as const)("%s may create keys of levels %j", (role, levels) => {
    expect(allowedAccessLevels(role)).toEqual(levels);
  });
});

describe("downgrade rules", () => {
  it.each([
    ["lite", "read_only", true],
    ["lite", "read_write", true],
    ["read_only", "read_write", true],
    ["read_only", "read_only", false],
    ["staff", "read_write", false],
    ["admin", "read_write", false],
    ["owner", "read_write", false],
  ] as const)("to %s deletes a %s key: %s", (next, level, deleted) => {
    expect(keysDeletedByRoleChange(next, level)).toBe(deleted);
  });
});

describe("who may change whom", () => {
  const owner = { id: "o", role: "owner" as const };
  const admin = { id: "a", role: "admin" as const };
  const staff = { id: "s", role: "staff" as const };
  const other = { id: "x", role: "staff" as const };

  it("owner and admin may change a staff user's role", () => {
    expect(canManageUser(owner, other, "read_only")).toBe(true);
    expect(canManageUser(admin, other, "admin")).toBe(true);
  });
  it("an admin never touches the owner or grants owner", () => {
    expect(canManageUser(admin, owner, "staff")).toBe(false);
    expect(canManageUser(admin, owner, null)).toBe(false);
    expect(canManageUser(admin, other, "owner")).toBe(false);
  });
  it("nobody grants owner by a role change, or changes their own role", () => {
    expect(canManageUser(owner, other, "owner")).toBe(false);
    expect(canManageUser(admin, admin, "staff")).toBe(false);
  });
  it.each(["staff", "read_only", "lite"] as const)("%s may manage nobody", (role) => {
    expect(canManageUser({ id: "me", role }, other, "lite")).toBe(false);
    expect(canManageUser({ id: "me", role }, staff, null)).toBe(false);
  });
});
