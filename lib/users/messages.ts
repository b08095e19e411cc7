/** Messages the user services share. A plain module (no database imports). */

/** Managing people through an API key. */
export const USERS_IN_BROWSER = "Users are only managed in the browser.";
