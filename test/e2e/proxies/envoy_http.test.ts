// Envoy (scripts/install-envoy.sh) with proxies/envoy-http-service.yaml: ext_authz over HTTP (http_service) to
// tokengate's /envoy prefix. Envoy passes tokengate's denials as they are; tokengate down is its status_on_error, 503.
import { proxySuite } from './suite.js';

proxySuite('envoy', { downStatus: 503, passes403: true });
