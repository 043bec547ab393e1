// OpenID provider of the AAI testbed, shaped like EGI Check-in: panva's oidc-provider served over
// https under a Keycloak-style realm path, with EGI entitlements in JWT access tokens.
//
// Environment (all required unless a default is given):
//   OP_ISSUER       issuer URL, e.g. https://localhost:15443/auth/realms/egi (its path is the mount path)
//   OP_PORT         TCP port to listen on, on 127.0.0.1
//   OP_TLS_CERT     PEM certificate chain for https
//   OP_TLS_KEY      PEM private key for https
//   OP_CLIENTS      JSON file with the client secrets: {"fedcloud-cli": "...", ...}
//   OP_SIGNING_KEY  PEM RSA private key that signs tokens (made fresh by `up` for each start)
//   OP_RESOURCE     resource indicator (and JWT audience) of Keystone, default urn:fedcloud:keystone
//   OP_REFRESH_TOKEN_TTL  refresh token lifetime in seconds, default 90 days
//   OP_SHORT_ACCESS_TOKEN_TTL  access token lifetime of the fedcloud-short-ttl client in seconds, default 2

import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

import Provider from 'oidc-provider';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`op: environment variable ${name} is missing`);
    process.exit(2);
  }
  return value;
}

const issuer = requireEnv('OP_ISSUER');
const port = Number(requireEnv('OP_PORT'));
const tlsCert = readFileSync(requireEnv('OP_TLS_CERT'));
const tlsKey = readFileSync(requireEnv('OP_TLS_KEY'));
const clientSecrets = JSON.parse(readFileSync(requireEnv('OP_CLIENTS'), 'utf8'));
const keystoneResource = process.env.OP_RESOURCE || 'urn:fedcloud:keystone';
const refreshTokenTtl = Number(process.env.OP_REFRESH_TOKEN_TTL || 90 * 24 * 3600);
const shortAccessTokenTtl = Number(process.env.OP_SHORT_ACCESS_TOKEN_TTL || 2);
const accessTokenTtl = 3600;
const mountPath = new URL(issuer).pathname.replace(/\/$/, '');

const entitlement = (vo, role) => `urn:mace:egi.eu:group:${vo}:role=${role}#aai.egi.eu`;

// alice is a member (and VM operator) of vo.access.egi.eu and ops, and bob belongs to neither.
// Accounts are keyed by `sub`, which Check-in forms as <opaque id>@egi.eu. The login name is the `sub`.
const accounts = {
  'alice@egi.eu': {
    name: 'Alice Example',
    email: 'alice@example.org',
    eduperson_entitlement: [
      entitlement('vo.access.egi.eu', 'member'),
      entitlement('vo.access.egi.eu', 'vm_operator'),
      entitlement('ops', 'member'),
      entitlement('ops', 'vm_operator'),
    ],
  },
  'bob@egi.eu': {
    name: 'Bob Example',
    email: 'bob@example.org',
    eduperson_entitlement: [entitlement('vo.example.org', 'member')],
  },
};

// Service account of the monitoring robot, as EGI grants it through a GGUS request.
const robotEntitlements = [entitlement('ops', 'vm_operator')];

const oidcScopes = 'openid profile email eduperson_entitlement voperson_id offline_access';
const cliRedirectUri = 'http://127.0.0.1/callback';

function codeClient(clientId) {
  return {
    client_id: clientId,
    client_secret: clientSecrets[clientId],
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [cliRedirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

const clients = [
  codeClient('fedcloud-cli'),
  codeClient('fedcloud-short-ttl'),
  {
    client_id: 'fedcloud-robot',
    client_secret: clientSecrets['fedcloud-robot'],
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'openid profile email eduperson_entitlement voperson_id',
    token_endpoint_auth_method: 'client_secret_basic',
  },
];

// NOTE: the key comes from a file because crypto.generateKeyPairSync hung in 2 of 20 test starts
// on Node 20.20 after importing oidc-provider, with the main thread waiting on a futex.
const signingKeyPem = readFileSync(requireEnv('OP_SIGNING_KEY'));
const signingKey = {
  ...createPrivateKey(signingKeyPem).export({ format: 'jwk' }),
  kid: `testbed-${createHash('sha256').update(signingKeyPem).digest('hex').slice(0, 12)}`,
  use: 'sig',
  alg: 'RS256',
};

const configuration = {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
    eduperson_entitlement: ['eduperson_entitlement'],
    voperson_id: ['voperson_id'],
  },
  scopes: oidcScopes.split(' '),
  async findAccount(_ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: account.name,
          email: account.email,
          email_verified: true,
          eduperson_entitlement: account.eduperson_entitlement,
          voperson_id: sub,
        };
      },
    };
  },
  // Puts the entitlements into every access token, as Check-in does, so Apache can pass them on.
  async extraTokenClaims(_ctx, token) {
    if (token.kind === 'ClientCredentials') {
      return { eduperson_entitlement: robotEntitlements };
    }
    const account = accounts[token.accountId];
    if (!account) return undefined;
    return { eduperson_entitlement: account.eduperson_entitlement, voperson_id: token.accountId };
  },
  features: {
    // NOTE: the development login form accepts a login name without a password, which is
    // acceptable only because the provider listens on loopback for tests.
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Every access token is an RS256 JWT for Keystone, also when the client names no resource.
      defaultResource: () => keystoneResource,
      useGrantedResource: () => true,
      getResourceServerInfo(_ctx, resource, client) {
        if (resource !== keystoneResource) {
          throw new Provider.errors.InvalidTarget(`unknown resource ${resource}`);
        }
        return {
          scope: oidcScopes,
          audience: keystoneResource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === 'fedcloud-short-ttl' ? shortAccessTokenTtl : accessTokenTtl,
        };
      },
    },
  },
  pkce: { required: () => false },
  // Refresh tokens stay valid across uses, like Check-in's offline tokens.
  rotateRefreshToken: false,
  ttl: {
    // A resource server's own lifetime (the short-TTL client's) takes precedence.
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL || accessTokenTtl,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL || accessTokenTtl,
    RefreshToken: refreshTokenTtl,
    Grant: refreshTokenTtl,
    Session: 3600,
    Interaction: 600,
    AuthorizationCode: 60,
    IdToken: accessTokenTtl,
  },
  // Endpoint paths of Keycloak, which Check-in runs.
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    jwks: '/protocol/openid-connect/certs',
    userinfo: '/protocol/openid-connect/userinfo',
    introspection: '/protocol/openid-connect/token/introspect',
    revocation: '/protocol/openid-connect/revoke',
    end_session: '/protocol/openid-connect/logout',
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, error) => console.error('op: server error:', error));
provider.on('grant.error', (_ctx, error) => console.error(`op: token request rejected: ${error.message}`));

const handle = provider.callback();
const server = createServer({ cert: tlsCert, key: tlsKey }, (req, res) => {
  // Mount the provider under the issuer's path, as oidc-provider expects from a mounting framework.
  if (req.url === mountPath || req.url.startsWith(`${mountPath}/`) || req.url.startsWith(`${mountPath}?`)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(mountPath.length) || '/';
    handle(req, res);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'not_found', error_description: `no endpoint at ${req.url}` }));
});

server.listen(port, '127.0.0.1', () => {
  console.error(`op: issuer ${issuer} listening on https://127.0.0.1:${port}, signing key ${signingKey.kid}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.error(`op: ${signal} received, stopping`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
