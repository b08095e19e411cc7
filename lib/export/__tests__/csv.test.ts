import { describe, expect, it } from "vitest";
import { csvCell, csvRow, exportFilename } from "../csv";

describe("csvCell (RFC 4180, with the formula-injection guard)", () => {
  it.each([
    ["plain", "plain"],
    ["", ""],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    ["two\r\nlines", '"two\r\nlines"'],
    ["=1+2", "'=1+2"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tindent", "'\tindent"],
    ["\rcr", '"\'\rcr"'],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ["a=b", "a=b"],
    [" =not first", " =not first"],
  ])("%j -> %j", (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it("writes numbers and booleans as they are (a negative number is data, not text), times as ISO 8601, null as empty", () => {
    expect(csvCell(-5)).toBe("-5");
    expect(csvCell(12)).toBe("12");
    expect(csvCell(false)).toBe("false");
    expect(csvCell(new Date("2026-11-28T10:00:00.123Z"))).toBe("2026-11-28T10:00:00.123Z");
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
  });

  it("ends each record with CRLF", () => {
    expect(csvRow(["a", "b,c", null, 1])).toBe('a,"b,c",,1\r\n');
  });

  it("names the file by what it holds and the day (UTC)", () => {
    expect(exportFilename("api-keys", new Date("2026-11-28T23:59:59Z"))).toBe("latchkey-api-keys-2026-11-28.csv");
    expect(exportFilename("audit-log", new Date("2026-11-29T00:00:00Z"))).toBe("latchkey-audit-log-2026-11-29.csv");
  });
});
