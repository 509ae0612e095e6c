import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configProblems } from '../helpers/config_problems.js';

const POLICIES = `
policies:
  - name: p
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
      audiences: ["api://p"]
      issuers: ["https://idp.example.com/"]
`;

function problemsOf(server: string): readonly string[] {
  return configProblems(`server:\n${server}\n${POLICIES}`);
}

describe('server.httpAuthz', () => {
  it('is off unless set', () => {
    expect(parseConfigText(POLICIES).server.httpAuthz).toBeUndefined();
  });

  it('applies its defaults: nobody trusted, /envoy, bounded checks, connections, headers and time', () => {
    const config = parseConfigText(`server:\n  httpAuthz: { address: "127.0.0.1:9192" }\n${POLICIES}`);
    expect(config.server.httpAuthz).toEqual({
      address: '127.0.0.1:9192',
      trustedProxies: [],
      envoyPathPrefix: '/envoy',
      maxConcurrentChecks: 1000,
      maxConnections: 4096,
      maxHeaderBytes: 32768,
      requestTimeoutMs: 10000,
      keepAliveTimeoutMs: 65000,
    });
  });

  it('reads trusted proxies as CIDR blocks, single addresses and unix', () => {
    const config = parseConfigText(
      `server:\n  httpAuthz: { address: "unix:/run/tg.sock", trustedProxies: [unix, "10.0.0.0/8", "::1"] }\n${POLICIES}`,
    );
    expect(config.server.httpAuthz?.trustedProxies).toEqual([
      { kind: 'unix' },
      { kind: 'cidr', network: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { kind: 'cidr', network: '::1', prefix: 128, family: 'ipv6' },
    ]);
  });

  it('reports each problem with its path', () => {
    const problems = problemsOf(`
  http: { address: "127.0.0.1:9090" }
  httpAuthz:
    address: "0.0.0.0:9090"
    trustedProxies: ["10.0.0.0/40", "proxy.local"]
    envoyPathPrefix: /authz/envoy
    maxConcurrentChecks: 0
    keepAlive: 5`);
    expect(problems).toEqual([
      'server.httpAuthz.keepAlive: unknown key (expected one of: address, trustedProxies, envoyPathPrefix, maxConcurrentChecks, maxConnections, maxHeaderBytes, requestTimeoutMs, keepAliveTimeoutMs)',
      'server.httpAuthz.trustedProxies[0]: the prefix length of "10.0.0.0/40" must be 0 to 32',
      'server.httpAuthz.trustedProxies[1]: must be "unix", an IP address or a CIDR block like 10.0.0.0/8, got "proxy.local"',
      'server.httpAuthz.envoyPathPrefix: must not be /authz or under it: that is where nginx and Caddy ask',
      'server.httpAuthz.maxConcurrentChecks: must be an integer from 1 to 100000, got number 0',
      'server.httpAuthz.address: must differ from server.http.address',
    ]);
  });

  it('needs an address of its own, never the ops or gRPC one', () => {
    expect(problemsOf('  httpAuthz: { trustedProxies: [unix] }')).toEqual(['server.httpAuthz.address: is required']);
    expect(problemsOf('  grpc: { address: "unix:/run/a.sock" }\n  httpAuthz: { address: "unix:/run/a.sock" }')).toEqual([
      'server.httpAuthz.address: must differ from server.grpc.address',
    ]);
    expect(problemsOf('  httpAuthz: { address: "nowhere" }')).toEqual([
      'server.httpAuthz.address: must be host:port or unix:/path, got "nowhere"',
    ]);
    expect(problemsOf('  httpAuthz: { address: "127.0.0.1:9192", envoyPathPrefix: "/a/../b" }')).toHaveLength(1);
    expect(problemsOf('  httpAuthz: { address: "127.0.0.1:9192", envoyPathPrefix: "/check/" }')).toHaveLength(1);
  });
});
