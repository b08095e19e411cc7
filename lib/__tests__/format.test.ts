import { describe, expect, it } from "vitest";
import { countOf, formatDate, formatDateTime, formatDateTimeSeconds } from "@/lib/format";

describe("dates and times read the same everywhere (UTC, en-GB style)", () => {
  it.each([
    ["2026-12-07T11:40:05.120Z", "7 Dec 2026", "7 Dec 2026, 11:40 UTC", "7 Dec 2026, 11:40:05 UTC"],
    ["2026-09-08T00:00:00Z", "8 Sep 2026", "8 Sep 2026, 00:00 UTC", "8 Sep 2026, 00:00:00 UTC"],
    // Late on the 31st in New York is already the 1st in UTC: UTC decides, whatever the machine's zone.
    ["2027-01-01T03:59:59Z", "1 Jan 2027", "1 Jan 2027, 03:59 UTC", "1 Jan 2027, 03:59:59 UTC"],
    ["2028-02-29T23:59:59.999Z", "29 Feb 2028", "29 Feb 2028, 23:59 UTC", "29 Feb 2028, 23:59:59 UTC"],
  ])("%s", (iso, date, dateTime, seconds) => {
    expect(formatDate(new Date(iso))).toBe(date);
    expect(formatDate(iso)).toBe(date);
    expect(formatDateTime(new Date(iso))).toBe(dateTime);
    expect(formatDateTimeSeconds(new Date(iso))).toBe(seconds);
  });

  it("says Never for no date", () => {
    expect(formatDate(null)).toBe("Never");
    expect(formatDateTime(null)).toBe("Never");
    expect(formatDateTimeSeconds(null)).toBe("Never");
  });

  it("every month has its three-letter name (never 'Sept')", () => {
    const names = Array.from({ length: 12 }, (_, month) => formatDate(new Date(Date.UTC(2026, month, 15))).split(" ")[1]);
    expect(names).toEqual(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]);
  });
});

describe("counts", () => {
  it.each([
    [0, "0 keys"],
    [1, "1 key"],
    [2, "2 keys"],
    [1199, "1,199 keys"],
    [100000, "100,000 keys"],
  ])("%i -> %s", (n, text) => {
    expect(countOf(n, "key")).toBe(text);
  });
});
