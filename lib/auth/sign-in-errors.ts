/**
 * What /sign-in says for the `error` next-auth (or single sign-on's refusal) sends it back with.
 * A plain module: the sign-in page shows it, the tests read the same words.
 */
const MESSAGES: Record<string, string> = {
  Sso_unverified_email:
    "Your identity provider has not verified your email address, so it cannot sign you in here. Verify it there, then try again.",
  Sso_no_account: "No Latchkey account or invite matches the email your identity provider gave. Ask an admin to invite you.",
  Sso_invalid_answer: "Your identity provider's answer did not include a usable email address.",
  Sso_provider_error: "Single sign-on failed: the identity provider's answer could not be verified. Try again.",
  OAuthCallback: "Single sign-on failed: the identity provider's answer could not be verified. Try again.",
  Callback: "Single sign-on failed: the identity provider's answer could not be verified. Try again.",
  OAuthSignin: "Single sign-on is not reachable right now. Try again, or sign in with your password.",
};

/** The message for a /sign-in?error= code; null for none. Unknown codes get a generic message. */
export function signInPageError(code: string | undefined): string | null {
  if (!code) return null;
  return MESSAGES[code] ?? "Sign-in failed. Try again.";
}
