/**
 * How each notification reads (SPEC §11), in the header's list and in its email alike: a short
 * title and one or two plain sentences. Only names, roles and dates: never a secret, never a
 * masked key. Pure, so it is unit-tested and both places word a notice the same way.
 */
import type { Role } from "@/db/schema";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import { formatDateTime } from "@/lib/format";
import type { NotificationKind } from "./kinds";

export interface NotificationText {
  title: string;
  body: string;
}

export interface NotificationContent {
  kind: NotificationKind | string;
  keyName: string | null;
  data: Record<string, unknown>;
}

const str = (value: unknown): string | null => (typeof value === "string" && value.trim() !== "" ? value : null);
const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

function roleLabel(value: unknown): string {
  const role = str(value);
  return role && role in ROLE_LABELS ? ROLE_LABELS[role as Role] : "another role";
}

function when(value: unknown): string | null {
  const text = str(value);
  if (!text) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : formatDateTime(date);
}

const quoted = (names: string[]) => names.map((name) => `"${name}"`).join(", ");

export function describeNotification(notice: NotificationContent): NotificationText {
  const key = `"${notice.keyName ?? "an API key"}"`;
  const { data } = notice;
  const by = str(data.by);
  switch (notice.kind) {
    case "key_expiring": {
      const days = num(data.days);
      const at = when(data.expires_at);
      return {
        title: `Your API key ${key} expires within ${days === 1 ? "1 day" : `${days ?? 7} days`}`,
        body:
          `It stops working${at ? ` on ${at}` : " soon"}. ` +
          "Create a replacement before then, or regenerate it with a new expiration once it has expired.",
      };
    }
    case "key_expired": {
      const at = when(data.expires_at);
      return {
        title: `Your API key ${key} has expired`,
        body: `It expired${at ? ` on ${at}` : ""} and the API refuses it. Regenerate it with a new expiration to use it again.`,
      };
    }
    case "key_disabled_by_admin":
      return {
        title: `Your API key ${key} was disabled by an admin`,
        body: `${by ?? "An admin"} disabled it in the API Access Manager: the API refuses it. Only an Owner or Admin can enable it again.`,
      };
    case "key_deleted_by_admin":
      return {
        title: `Your API key ${key} was deleted by an admin`,
        body: `${by ?? "An admin"} deleted it in the API Access Manager. It no longer works and cannot be restored.`,
      };
    case "key_disabled_unused": {
      const days = num(data.days);
      const period = days === 365 ? "1 year" : days ? `${days} days` : "a long time";
      return {
        title: `Your API key ${key} was disabled because it was not used for ${period}`,
        body: `Your organisation disables keys unused for ${period}. You can enable it again on your Profile page if you still need it.`,
      };
    }
    case "role_changed": {
      const deleted = Array.isArray(data.deleted_keys) ? data.deleted_keys.filter((name): name is string => typeof name === "string") : [];
      const change = `${by ?? "An admin"} changed your role from ${roleLabel(data.from)} to ${roleLabel(data.to)}.`;
      return {
        title: `Your role is now ${roleLabel(data.to)}`,
        body: deleted.length
          ? `${change} Your new role does not allow ` +
            `${deleted.length === 1 ? "this key, which was" : "these keys, which were"} deleted: ${quoted(deleted)}.`
          : change,
      };
    }
    default:
      return { title: "Latchkey notice", body: "Something changed in your account." };
  }
}
