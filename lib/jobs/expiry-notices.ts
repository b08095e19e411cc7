import { sql } from "drizzle-orm";
import type { Tx } from "@/db/client";
import type { Job } from "./runner";

/** A timestamptz parameter. */
const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;
/** An instant as JSON keeps it (ISO 8601, UTC, milliseconds), whatever the session's time zone. */
const iso = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
/** The expiry in a dedupe key: a new expiry (after a regenerate) is a new notice. */
const epochMs = (column: string) => sql.raw(`(extract(epoch from ${column}) * 1000)::bigint`);

/**
 * "Your API key expires within 7 days / 1 day": once per key, threshold and expiry (the dedupe
 * key), to the key's holder, for active keys. A key whose whole life was shorter than the
 * threshold (plus half a day) is not warned at it: whoever made a key for 7 days knows it ends
 * within 7 days; it gets the 1-day notice only. Within a day, only the 1-day notice is raised.
 * One statement over the expires_at index; the unique dedupe index makes a second run (here or
 * on another instance) insert nothing.
 */
export const expiryWarningsJob: Job = {
  name: "expiry-warnings",
  async run(tx: Tx, now: Date) {
    const rows = await tx.execute(sql`
      insert into notifications (user_id, kind, key_id, key_name, data, dedupe_key)
      select k.user_id, 'key_expiring', k.id, k.name,
        jsonb_build_object('days', t.days, 'expires_at', ${iso("k.expires_at")}),
        'key_expiring:' || t.days || ':' || k.id || ':' || ${epochMs("k.expires_at")}
      from api_keys k
      cross join lateral (select case when k.expires_at <= ${at(now)} + interval '1 day' then 1 else 7 end as days) t
      where k.status = 'active'
        and k.expires_at > ${at(now)}
        and k.expires_at <= ${at(now)} + interval '7 days'
        and k.expires_at - k.created_at > make_interval(days => t.days, hours => 12)
      on conflict (user_id, dedupe_key) where dedupe_key is not null do nothing
      returning id`);
    return { summary: { notified: rows.length } };
  },
};

/** How far back an expiry still gets its notice (after the jobs were off for a while). */
const EXPIRED_LOOKBACK = sql.raw("interval '30 days'");

/** "Your API key has expired": once per key and expiry, for keys that expired while active. */
export const expiredNoticesJob: Job = {
  name: "expired-notices",
  async run(tx: Tx, now: Date) {
    const rows = await tx.execute(sql`
      insert into notifications (user_id, kind, key_id, key_name, data, dedupe_key)
      select k.user_id, 'key_expired', k.id, k.name,
        jsonb_build_object('expires_at', ${iso("k.expires_at")}),
        'key_expired:' || k.id || ':' || ${epochMs("k.expires_at")}
      from api_keys k
      where k.status = 'active'
        and k.expires_at <= ${at(now)}
        and k.expires_at > ${at(now)} - ${EXPIRED_LOOKBACK}
      on conflict (user_id, dedupe_key) where dedupe_key is not null do nothing
      returning id`);
    return { summary: { notified: rows.length } };
  },
};
