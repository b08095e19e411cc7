/**
 * How the app writes dates and times, everywhere (pages, toasts, confirmations, emails): "7 Dec
 * 2026" and "7 Dec 2026, 11:40 UTC" (the Audit log to the second), always in UTC, so the server's
 * and the browser's renderings never disagree (hydration) and nobody reads a time in a zone they
 * did not choose. The months are spelled here, not by the runtime's locale data: en-GB's short
 * September is "Sept" in some ICU versions and "Sep" in others.
 */
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

const two = (n: number) => String(n).padStart(2, "0");

function dayOf(date: Date): string {
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** "7 Dec 2026"; "Never" for none. */
export function formatDate(value: Date | string | null): string {
  return value ? dayOf(new Date(value)) : "Never";
}

/** "7 Dec 2026, 11:40 UTC"; "Never" for none. */
export function formatDateTime(value: Date | string | null): string {
  if (!value) return "Never";
  const date = new Date(value);
  return `${dayOf(date)}, ${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC`;
}

/** "7 Dec 2026, 11:40:05 UTC" (the Audit log); "Never" for none. */
export function formatDateTimeSeconds(value: Date | string | null): string {
  if (!value) return "Never";
  const date = new Date(value);
  return `${dayOf(date)}, ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC`;
}

/** A count with its noun, thousands grouped: "1 key", "1,199 keys". */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-GB")} ${n === 1 ? one : many}`;
}
