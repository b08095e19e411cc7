/**
 * The accounts the e2e run's local OpenID provider vouches for (e2e/server.ts starts it and points
 * OIDC_ISSUER at it): the Owner, two people an admin invites in e2e/sso.spec.ts, and a stranger.
 */
export const SSO_ACCOUNTS = {
  owner: { email: "owner@latchkey.test", name: "Olivia at the provider" },
  invitee: { email: "sso.invitee@latchkey.test", name: "Ines Invitee" },
  stranger: { email: "sso.stranger@latchkey.test", name: "Stan Stranger" },
  confirmer: { email: "sso.confirmer@latchkey.test", name: "Cory Confirmer" },
} as const;
