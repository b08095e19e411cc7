import { z } from "zod";

/**
 * zod, as every schema of the app imports it. zod compiles object schemas with `new Function`
 * where eval is allowed, and decides when a schema is made, probing with `Function("")`: the
 * pages' Content-Security-Policy forbids eval, so every engine reported a violation for every page
 * (Firefox logged it as an error). In the browser the schemas run interpreted (jitless), which is
 * all a form needs; this module is every schema module's first import, so the setting is in place
 * before any schema is made. The server keeps the compiled parsers (no CSP applies there, and the
 * API parses on its hot path).
 */
if (typeof window !== "undefined") z.config({ jitless: true });

export { z };
