/**
 * A real OpenID Connect provider for the single sign-on tests (the `oidc-provider` package, the
 * certified implementation), on a free port of 127.0.0.1: discovery, authorization with PKCE,
 * the token endpoint and signed ID tokens, exactly as Latchkey meets them in production. Only
 * its sign-in screen is ours: a form that asks which of `accounts` you are (no password; the
 * provider's own trust is not what these tests are about).
 *
 * `tamper` turns the provider hostile for the refusal tests: its ID tokens then carry another
 * audience, or a signature by a key it does not publish.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";

export interface TestAccount {
  email: string;
  name: string;
  /** The provider's email_verified claim (default true). */
  emailVerified?: boolean;
}

export type Tamper = "aud" | "signature" | null;

export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Makes the provider's next ID tokens wrong in one way (null: honest again). */
  tamper(mode: Tamper): void;
  /** Adds or changes an account the provider vouches for. */
  setAccount(account: TestAccount): void;
  close(): Promise<void>;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString("base64url");
}

/** Re-signs a compact JWS (RS256) with `key`, after `edit` changed its claims. */
function resign(jwt: string, key: KeyObject, edit: (claims: Record<string, unknown>) => void): string {
  const [header, payload] = jwt.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<string, unknown>;
  edit(claims);
  const body = `${header}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${base64url(sign("sha256", Buffer.from(body), key))}`;
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function signInPage(uid: string, error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
<body><main><h1>Test identity provider</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="email">Email at the provider</label> <input id="email" name="email" type="email" required>
<button type="submit">Continue to Latchkey</button></form></main></body></html>`;
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(new URLSearchParams(body)));
    req.on("error", reject);
  });
}

/**
 * Starts the provider for a client whose callback is `redirectUri` (Latchkey's
 * `<origin>/api/auth/callback/oidc`). `port` 0 (the default) takes a free one.
 */
export async function startTestIdentityProvider(options: {
  redirectUri: string;
  accounts: TestAccount[];
  port?: number;
}): Promise<TestIdentityProvider> {
  const accounts = new Map(options.accounts.map((a) => [a.email.toLowerCase(), a]));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const { privateKey: strangerKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(8).toString("hex");
  const jwk = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  const clientId = "latchkey-test";
  const clientSecret = randomBytes(24).toString("base64url");
  let tampering: Tamper = null;

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(16).toString("hex")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // The scope's claims go into the ID token itself (Latchkey reads them from there).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: account.email, email_verified: account.emailVerified ?? true, name: account.name };
        },
      };
    },
    // No consent screen: the test client is granted what it asks for.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const existing = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
    renderError(ctx, out) {
      ctx.type = "html";
      const message = `${String(out.error)}: ${String(out.error_description ?? "")}`;
      ctx.body = `<!doctype html><title>Provider error</title><p>${escapeHtml(message)}</p>`;
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== "/token" || !tampering || !body?.id_token) return;
    const key = tampering === "signature" ? strangerKey : createPrivateKey({ key: jwk as never, format: "jwk" });
    body.id_token = resign(body.id_token, key, (claims) => {
      if (tampering === "aud") claims.aud = "some-other-client";
    });
  });
  const handle = provider.callback();

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(new URL(req.url ?? "/", issuer).pathname);
    if (!match) return void handle(req, res);
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (req.method === "GET") {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(signInPage(details.uid));
          return;
        }
        const email = ((await readForm(req)).get("email") ?? "").trim().toLowerCase();
        if (!accounts.has(email)) {
          res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(signInPage(details.uid, "No such account here."));
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
      } catch (error) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
      }
    })();
  });

  return {
    issuer,
    clientId,
    clientSecret,
    tamper: (mode) => void (tampering = mode),
    setAccount: (account) => void accounts.set(account.email.toLowerCase(), account),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
