// The HTTP mode's bench setup, one definition for bench/http_authz.mjs (tokengate's listener under wrk) and
// bench/http_check_cost.mjs (the same path in one process): the issuer and its token, the policy, the request forms.
import { join } from 'node:path';

/** The development issuer (RS256) and one token the policy allows. */
export async function startHttpBenchIssuer(root) {
  const { startDevIssuer } = await import(join(root, 'dist/dev_issuer/dev_issuer.js'));
  const issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: 'api://orders' });
  const token = await issuer.sign({ scp: 'orders.read', oid: 'oid-bench', sub: 'bench' }, { expiresIn: 86_400 });
  return { issuer, token };
}

/** The `policies:` section: bench/bench.mjs's policy (discovery + JWKS, audience, scp, one claim header). */
export function httpBenchPolicies(issuerUrl) {
  return `policies:
  - name: orders
    match: { pathPrefixes: ["/orders"] }
    validateJwt:
      openidConfig: [{ url: "${issuerUrl}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
      requiredClaims: [{ name: scp, separator: " ", match: all, values: ["orders.read"] }]
      outputClaimsToHeaders: [{ claim: oid, header: x-user-oid }]
`;
}

/** The headers every form carries. */
export const commonHeaders = (token) => [
  'Host: api.example.com',
  `Authorization: Bearer ${token}`,
  'X-Request-Id: 0f5a1c0d-bench',
];

/** Envoy http_service's form: the original request behind the path prefix. */
export const ENVOY_FORM = { path: '/envoy/orders/1', headers: [] };
/** nginx auth_request's form: /authz with the original URI and method from a trusted proxy. */
export const NGINX_FORM = {
  path: '/authz',
  headers: ['X-Original-URI: /orders/1', 'X-Original-Method: GET', 'X-Forwarded-Host: api.example.com'],
};
