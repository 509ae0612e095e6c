// The CEL rules of scenario (e) and of bench/stages.mjs's rules stage: one definition, so both measure the same.
/**
 * Five CEL rules for scenario (e), each holding for the bench's tokens and GET requests: 4 `when`s that hold, 1 that
 * does not, 4 `allow`s (the shape of bench/rules_cost.mjs, on the claims make_data.mjs signs).
 */
export const benchRules = (manifest) => `    rules:
      - name: readers
        when: request.method in ["GET", "HEAD"]
        allow: '"${manifest.scope}" in scopes() || "Admin" in claims.roles'
      - name: writers
        when: request.method in ["POST", "PUT", "DELETE"]
        allow: '"orders.write" in scopes()'
      - name: tenant
        allow: 'claims.tid == "72f988bf-86f1-41af-91ab-2d7cd011db47"'
      - name: orders
        when: request.path.startsWith("/orders")
        allow: '"Reader" in claims.roles'
      - name: client
        when: has(claims.azp)
        allow: 'claims.azp != "blocked-client" && route.policy == "${manifest.policy}"'
`;

