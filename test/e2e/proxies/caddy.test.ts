// Caddy (the Debian package, scripts/install-proxy.sh) with proxies/Caddyfile: forward_auth to tokengate's /authz.
// Caddy passes every denial of tokengate as it is; tokengate down is its 502.
import { proxySuite } from './suite.js';

proxySuite('caddy', { downStatus: 502, passes403: true });
