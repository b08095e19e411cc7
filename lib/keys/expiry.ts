/**
 * Key lifetimes (SPEC §11), as pure functions: the Add API Key dialog's choices, the end of a
 * custom date, the organisation's maximum lifetime, the grace periods of a regenerate. The
 * services and the forms use the same ones, so the dialog offers exactly what the service allows.
 */
const DAY_MS = 24 * 60 * 60 * 1000;

/** The Expiration choices, in the dialog's order; "90d" is the default. */
export const EXPIRATION_CHOICES = ["7d", "30d", "90d", "1y", "custom", "never"] as const;
export type ExpirationChoice = (typeof EXPIRATION_CHOICES)[number];
export const DEFAULT_EXPIRATION: ExpirationChoice = "90d";

export const EXPIRATION_LABELS: Record<ExpirationChoice, string> = {
  "7d": "7 days",
  "30d": "30 days",
  "90d": "90 days",
  "1y": "1 year",
  custom: "Custom date",
  never: "No expiration",
};

const CHOICE_DAYS: Partial<Record<ExpirationChoice, number>> = { "7d": 7, "30d": 30, "90d": 90, "1y": 365 };

/** The organisation's Maximum key lifetime choices, in days (null: No limit). */
export const MAX_LIFETIME_CHOICES = [null, 30, 90, 180, 365] as const;
/** Disable keys unused for, in days (null: Off). */
export const UNUSED_CHOICES = [null, 30, 90, 180, 365] as const;

export function lifetimeLabel(days: number | null, none: string): string {
  if (days === null) return none;
  return days === 365 ? "1 year" : `${days} days`;
}

/** Keep the old secret working for: seconds, in the dialog's order (0: No grace period, the default). */
export const GRACE_PERIOD_CHOICES = [0, 3_600, 86_400, 604_800] as const;
export const GRACE_PERIOD_LABELS: Record<(typeof GRACE_PERIOD_CHOICES)[number], string> = {
  0: "No grace period",
  3_600: "1 hour",
  86_400: "24 hours",
  604_800: "7 days",
};
export const MAX_GRACE_PERIOD_SECONDS = 604_800;

/** A custom date (YYYY-MM-DD) ends at 23:59:59 UTC that day. */
export function endOfUtcDay(date: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const end = new Date(Date.UTC(year, month - 1, day, 23, 59, 59));
  // Date.UTC rolls 2026-02-31 over into March: such a date does not exist.
  return end.getUTCFullYear() === year && end.getUTCMonth() === month - 1 && end.getUTCDate() === day ? end : null;
}

/** When a key made now with `choice` expires (null: never); undefined for a malformed custom date. */
export function expiresAtFor(choice: ExpirationChoice, customDate: string | undefined, now: Date): Date | null | undefined {
  if (choice === "never") return null;
  if (choice === "custom") return customDate ? (endOfUtcDay(customDate) ?? undefined) : undefined;
  return new Date(now.getTime() + CHOICE_DAYS[choice]! * DAY_MS);
}

/**
 * The latest expiry the policy allows for a key made or regenerated now: the end of the UTC day
 * `maxDays` from now (so a custom date on that day is allowed); null when there is no limit.
 */
export function latestAllowedExpiry(maxDays: number | null, now: Date): Date | null {
  if (maxDays === null) return null;
  const limit = new Date(now.getTime() + maxDays * DAY_MS);
  return new Date(Date.UTC(limit.getUTCFullYear(), limit.getUTCMonth(), limit.getUTCDate(), 23, 59, 59));
}

/** The Expiration choices the policy allows (the dialog hides the others). */
export function allowedExpirationChoices(maxDays: number | null): ExpirationChoice[] {
  if (maxDays === null) return [...EXPIRATION_CHOICES];
  return EXPIRATION_CHOICES.filter(
    (choice) => choice === "custom" || (CHOICE_DAYS[choice] !== undefined && CHOICE_DAYS[choice]! <= maxDays),
  );
}

/** The default choice under a policy: 90 days, or the longest allowed preset below it. */
export function defaultExpirationChoice(maxDays: number | null): ExpirationChoice {
  const allowed = allowedExpirationChoices(maxDays);
  if (allowed.includes(DEFAULT_EXPIRATION)) return DEFAULT_EXPIRATION;
  return allowed.filter((choice) => CHOICE_DAYS[choice] !== undefined).at(-1) ?? "custom";
}

export type ExpiryProblem = "past" | "over_policy" | "required";

/**
 * Whether a new expiry is acceptable now: in the future, and within the policy (a policy makes an
 * expiry required). Returns the problem, or null.
 */
export function checkExpiry(expiresAt: Date | null, maxDays: number | null, now: Date): ExpiryProblem | null {
  if (expiresAt === null) return maxDays === null ? null : "required";
  if (expiresAt.getTime() <= now.getTime()) return "past";
  const latest = latestAllowedExpiry(maxDays, now);
  return latest && expiresAt.getTime() > latest.getTime() ? "over_policy" : null;
}

export function expiryProblemMessage(problem: ExpiryProblem, maxDays: number | null): string {
  const limit = lifetimeLabel(maxDays, "no limit");
  switch (problem) {
    case "past":
      return "The expiration must be in the future.";
    case "required":
      return `Your organisation requires keys to expire within ${limit}: choose an expiration.`;
    case "over_policy":
      return `Your organisation allows keys to live at most ${limit}: choose an earlier expiration.`;
  }
}

/** Whether a key with this expiry has expired at `now`. */
export function isExpired(expiresAt: Date | null, now: Date | number = Date.now()): boolean {
  return expiresAt !== null && expiresAt.getTime() <= (typeof now === "number" ? now : now.getTime());
}

/** Over policy: the key would live longer from now than the organisation allows (or forever). */
export function isOverPolicy(expiresAt: Date | null, maxDays: number | null, now: Date): boolean {
  if (maxDays === null) return false;
  if (expiresAt === null) return true;
  return expiresAt.getTime() > latestAllowedExpiry(maxDays, now)!.getTime();
}
