// nginx (the Debian package, scripts/install-proxy.sh) with proxies/nginx.conf: auth_request to tokengate's /authz.
// nginx passes tokengate's 401 with its challenge (the JSON body is the example's error_page) and its 403 as nginx's
// own page; any other answer of the check, tokengate down included, is its 500.
import { proxySuite } from './suite.js';

proxySuite('nginx', { downStatus: 500, passes403: false });
