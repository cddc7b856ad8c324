// A certified OpenID provider (npm `oidc-provider`) for Atlas's sign-in tests. Test use only.
//
//   PORT=…  REDIRECT_URI=…  POST_LOGOUT_REDIRECT_URI=…  CLAIMS_MODE=userinfo|id_token  node server.mjs
//
// One confidential client (Atlas), PKCE required, password sign-in through the provider's own
// development interaction pages, RP-initiated logout, the RFC 9207 `iss` parameter (on by default).
// CLAIMS_MODE=userinfo (default, conformant): the id_token carries only `sub`, claims come from userinfo.
// CLAIMS_MODE=id_token: `conformIdTokenClaims: false`, the scope's claims are in the id_token too.
// Accounts live in memory; `PUT /test/accounts/<id>` with a JSON body of claims adds or replaces one.
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const mode = process.env.CLAIMS_MODE || 'userinfo';

const accounts = new Map([
  ['alice', { email: 'alice@example.sa', email_verified: true, name: 'Alice Example' }],
  ['bob', { email: 'bob@example.sa', email_verified: false, name: 'Bob Example' }],
  ['no-email', { name: 'Nobody Mail' }],
]);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID || 'atlas',
      client_secret: process.env.CLIENT_SECRET || 'atlas-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  conformIdTokenClaims: mode !== 'id_token',
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  cookies: { keys: ['atlas-test-provider-only'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});

function testApi(req, res) {
  const match = /^\/test\/accounts\/([^/]+)$/.exec(req.url);
  if (req.method !== 'PUT' || !match) return false;
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    accounts.set(decodeURIComponent(match[1]), JSON.parse(body || '{}'));
    res.writeHead(204).end();
  });
  return true;
}

const handler = provider.callback();
http.createServer((req, res) => { if (!testApi(req, res)) handler(req, res); })
  .listen(port, '127.0.0.1', () => { process.stdout.write(`listening ${issuer}\n`); });
