import { describe, expect, it } from "vitest";
import { displayName } from "../common";
import { createApiKeySchema, renameApiKeySchema, updateApiKeySchema } from "../keys";
import { acceptInviteSchema, setupSchema } from "../users";

const name = displayName("name");

function messagesOf(input: unknown): string[] {
  const result = name.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

const INVISIBLE = "The name cannot contain invisible or direction-changing characters (such as U+200B or U+202E).";
const NOTHING_VISIBLE = "The name must contain a visible character.";

describe("display names show what they are (SPEC §10)", () => {
  it.each([
    ["a right-to-left override that shows evilexe.png", "evil\u202egnp.exe"],
    ["a left-to-right override", "a\u202db"],
    ["a zero-width space inside", "pay\u200broll"],
    ["zero-width joiner", "a\u200db"],
    ["zero-width non-joiner", "a\u200cb"],
    ["word joiner", "a\u2060b"],
    ["a left-to-right isolate", "name\u2066x\u2069"],
    ["a right-to-left isolate", "\u2067abc"],
    ["a first-strong isolate", "abc\u2068"],
    ["a pop directional isolate", "abc\u2069def"],
    ["a byte order mark inside", "ab\ufeffc"],
    ["a soft hyphen", "in\u00advisible"],
    ["a left-to-right mark", "abc\u200e"],
    ["an Arabic letter mark", "\u061cabc"],
    ["an interlinear annotation anchor", "a\ufff9b"],
    ["a tag character", "flag\u{e0041}"],
    ["a line separator", "two\u2028lines"],
    ["a paragraph separator", "two\u2029paras"],
    ["a lone high surrogate", "half\ud800"],
    ["a lone low surrogate", "\udc00half"],
  ])("refuses %s", (_what, input) => {
    expect(messagesOf(input)).toContain(INVISIBLE);
  });

  it.each([
    ["two zero-width spaces", "\u200b\u200b", INVISIBLE],
    ["only a byte order mark inside spaces", " \ufeff\u200b ", INVISIBLE],
    ["only combining marks", "\u0301\u0301", NOTHING_VISIBLE],
    ["only a Hangul filler", "\u3164", NOTHING_VISIBLE],
    ["only Hangul fillers and spaces", "\u3164 \u3164", NOTHING_VISIBLE],
    ["a braille blank", "\u2800\u2800", NOTHING_VISIBLE],
    ["a combining mark between no-break and ideographic spaces", "\u00a0\u3000\u0301\u00a0", NOTHING_VISIBLE],
  ])("refuses a name with nothing visible: %s", (_what, input, message) => {
    const messages = messagesOf(input);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages).toContain(message);
  });

  it("refuses empty and whitespace-only names with the usual message", () => {
    expect(messagesOf("")).toEqual(["Enter a name."]);
    expect(messagesOf("   \t ")).toEqual(["Enter a name."]);
  });

  it.each([
    ["plain ASCII", "Billing sync", "Billing sync"],
    ["trimmed", "  ops automation  ", "ops automation"],
    ["accents, composed and combining", "Cafe\u0301 Ren\u00e9e", "Cafe\u0301 Ren\u00e9e"],
    ["right-to-left script (no override)", "\u05e9\u05dc\u05d5\u05dd", "\u05e9\u05dc\u05d5\u05dd"],
    ["CJK", "\u6771\u4eac \u30c1\u30fc\u30e0", "\u6771\u4eac \u30c1\u30fc\u30e0"],
    ["Hangul with a letter", "\ud55c\uad6d", "\ud55c\uad6d"],
    ["an emoji (a symbol) with a variation selector", "deploy \u2699\ufe0f", "deploy \u2699\ufe0f"],
    ["a supplementary-plane emoji", "rocket \u{1f680}", "rocket \u{1f680}"],
    ["only punctuation", "---", "---"],
    ["a digit", "7", "7"],
    ["a no-break space between words", "a\u00a0b", "a\u00a0b"],
  ])("accepts %s", (_what, input, expected) => {
    expect(name.parse(input)).toBe(expected);
  });

  it("keeps the control-character rule", () => {
    expect(messagesOf("a\u0007b")).toContain("The name cannot contain control characters.");
  });

  it("applies to every schema that takes a key's or a person's name", () => {
    const id = "00000000-0000-4000-8000-000000000000";
    const bad = "evil\u202egnp.exe";
    expect(createApiKeySchema.safeParse({ name: bad }).success).toBe(false);
    expect(renameApiKeySchema.safeParse({ id, name: bad }).success).toBe(false);
    expect(updateApiKeySchema.safeParse({ name: "\u200b\u200b" }).success).toBe(false);
    const person = { email: "ada@example.test", password: "correct horse battery", confirmPassword: "correct horse battery" };
    for (const schema of [setupSchema, acceptInviteSchema]) {
      const result = schema.safeParse({ ...person, name: bad, token: "t" });
      expect(result.success).toBe(false);
      expect(result.error!.issues.some((issue) => issue.path[0] === "name")).toBe(true);
    }
  });
});
