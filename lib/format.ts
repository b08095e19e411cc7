const dateFormat = new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** Dates render the same on the server and in the browser (UTC), so hydration never disagrees. */
export function formatDate(value: Date | string | null): string {
  return value ? dateFormat.format(new Date(value)) : "Never";
}

export function formatDateTime(value: Date | string | null): string {
  return value ? `${dateTimeFormat.format(new Date(value))} UTC` : "Never";
}
