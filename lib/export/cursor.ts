import { sql, type SQL } from "drizzle-orm";
import { invalid } from "@/lib/errors";

/**
 * Keyset pagination for the admin API and the CSV exports: a page is "the rows after the last one
 * seen" in a total order, never an OFFSET, so inserts and deletes between pages neither repeat nor
 * skip a row. The order is a list of SQL expressions, all in one direction, ending in a unique
 * column. The cursor carries the last row's values of those expressions as PostgreSQL printed
 * them (exact: a timestamp keeps its microseconds), and each is cast back to its type to compare.
 *
 * The cursor is opaque to clients (base64url JSON) but not trusted: every value is checked
 * against its type's text form before it reaches a query, so a forged cursor is a 422, never a
 * database error.
 */

export type KeysetType = "timestamptz" | "text" | "int" | "bigint" | "uuid";

export interface KeysetTerm {
  expr: SQL;
  type: KeysetType;
}

const TEXT_FORMS: Record<KeysetType, RegExp> = {
  // PostgreSQL's text output of a timestamptz (ISO DateStyle), or +/- infinity.
  timestamptz: /^(?:-?infinity|\d{4,}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?[+-]\d\d(?::\d\d){0,2}(?: BC)?)$/,
  text: /^[\s\S]{0,1000}$/,
  int: /^-?\d{1,9}$/,
  bigint: /^-?\d{1,18}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
};

export const BAD_CURSOR = "The cursor is not valid; use the one a previous page returned.";

/** The values of a row's order terms as text, selected beside the row (one JSON array). */
export function keysetValues(terms: KeysetTerm[]): SQL<string[]> {
  return sql<string[]>`json_build_array(${sql.join(
    terms.map((term) => sql`(${term.expr})::text`),
    sql`, `,
  )})`.mapWith((value: unknown) => (typeof value === "string" ? (JSON.parse(value) as string[]) : (value as string[])));
}

/** ORDER BY for the terms, all ascending or all descending. */
export function keysetOrder(terms: KeysetTerm[], dir: "asc" | "desc"): SQL[] {
  return terms.map((term) => sql`${term.expr} ${sql.raw(dir)}`);
}

/** WHERE: the rows after `values` in the order (before them, read backwards, for "desc"). */
export function keysetAfter(terms: KeysetTerm[], dir: "asc" | "desc", values: string[]): SQL {
  const left = sql.join(
    terms.map((term) => sql`${term.expr}`),
    sql`, `,
  );
  const right = sql.join(
    values.map((value, i) => sql`cast(${value} as ${sql.raw(terms[i]!.type)})`),
    sql`, `,
  );
  return sql`(${left}) ${sql.raw(dir === "asc" ? ">" : "<")} (${right})`;
}

/** An opaque cursor: which order it belongs to, and the last row's values in it. */
export function encodeCursor(order: string, values: string[]): string {
  return Buffer.from(JSON.stringify({ o: order, v: values })).toString("base64url");
}

/**
 * The values a cursor carries, checked: it must come from the same order (`order`), with one
 * value per term, each in its type's text form. Anything else is a 422 naming `cursor`.
 */
export function decodeCursor(cursor: string, order: string, terms: KeysetTerm[]): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid(BAD_CURSOR, "cursor");
  }
  const { o, v } = (parsed ?? {}) as { o?: unknown; v?: unknown };
  if (o !== order) {
    throw invalid(typeof o === "string" ? "The cursor belongs to another sort order; start again without it." : BAD_CURSOR, "cursor");
  }
  if (!Array.isArray(v) || v.length !== terms.length) throw invalid(BAD_CURSOR, "cursor");
  v.forEach((value, i) => {
    if (typeof value !== "string" || !TEXT_FORMS[terms[i]!.type].test(value)) throw invalid(BAD_CURSOR, "cursor");
  });
  return v as string[];
}
