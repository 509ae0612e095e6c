export { httpGet, type HttpResult } from '../../src/testkit/http.js';
