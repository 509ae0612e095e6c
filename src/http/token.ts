/** RFC 9110 §5.6.2 token: an HTTP method (§9.1) or a field name (§5.1). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
