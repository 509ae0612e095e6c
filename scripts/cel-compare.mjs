#!/usr/bin/env node
// Compares npm CEL implementations by the CEL conformance suite (as @bufbuild/cel-spec ships it) and by the cost of
// one evaluation of tokengate-shaped rules. Used once to choose the library for issue 18; kept so the choice can be
// re-measured. The candidates are NOT project dependencies: install them in a scratch directory and point at it:
//
//   mkdir /tmp/cel-compare && cd /tmp/cel-compare && npm init -y && npm install @bufbuild/cel@0.6.1 \
//     @bufbuild/cel-spec@0.6.1 @marcbachmann/cel-js@8.0.0 cel-js@0.8.2
//   node scripts/cel-compare.mjs /tmp/cel-compare
//
// Conformance: every test of the suite's sections that needs no protobuf message types (no objectValue, no
// TestAllTypes, no google.protobuf wrapper, no container) and expects a value or an evaluation error. A test passes
// when the library returns the expected value (compared by CEL type and value; cel-js has no int/double distinction,
// so only its number is compared) or, for an expected error, when it reports any error (lenient: a missing function
// counts, which is why every library scores about 20% on the extension sections it does not implement). Extension
// sections (strings, math, encoders, bindings, block, optionals) are counted apart: tokengate enables no extension.
// "unchecked" counts the failures of tests marked disableCheck: they expect the runtime semantics without a type
// checker (`true || 32`), which a library that always type-checks refuses by design.
//
// Cost: ns per evaluation of a compiled expression, median of 15 rounds, reported with the ratio to a baseline in the
// same process (a hand-written JS function computing the same verdict), so the figures survive a slower machine.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/cel-compare.mjs DIR (a directory with the candidates installed)\n');
  process.exit(2);
}
const require = createRequire(join(dir, 'package.json'));
const buf = require('@bufbuild/cel');
const spec = require('@bufbuild/cel-spec/testdata/conformance.js');
const marc = await import(require.resolve('@marcbachmann/cel-js'));
const chrome = await import(require.resolve('cel-js'));

const EXTENSION_SECTIONS = new Set(['bindings_ext', 'block_ext', 'encoders_ext', 'math_ext', 'optionals', 'string_ext']);
const MESSAGE_SECTIONS = new Set(['proto2', 'proto2_ext', 'proto3', 'enums', 'wrappers']);

// ---- conformance ----

/** A cel.expr.Value in protobuf JSON, as one library's input. */
function toInput(v, lib) {
  if ('int64Value' in v) return lib === 'chrome' ? Number(v.int64Value) : BigInt(v.int64Value);
  if ('uint64Value' in v) {
    if (lib === 'buf') return buf.celUint(BigInt(v.uint64Value));
    if (lib === 'marc') return new marc.Environment().evaluate(`${v.uint64Value}u`);
    return Number(v.uint64Value);
  }
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('nullValue' in v) return null;
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(v.bytesValue, 'base64'));
  if ('listValue' in v) return (v.listValue.values ?? []).map((x) => toInput(x, lib));
  if ('mapValue' in v) {
    const entries = (v.mapValue.entries ?? []).map((e) => [toInput(e.key, lib), toInput(e.value, lib)]);
    if (lib === 'buf') return new Map(entries);
    return Object.fromEntries(entries.map(([k, x]) => [String(k), x]));
  }
  throw new Error(`unsupported value ${JSON.stringify(v)}`);
}

/** Canonical text of an expected value. */
function expectedText(v, lib) {
  if ('int64Value' in v) return lib === 'chrome' ? `num:${Number(v.int64Value)}` : `int:${v.int64Value}`;
  if ('uint64Value' in v) return lib === 'chrome' ? `num:${Number(v.uint64Value)}` : `uint:${v.uint64Value}`;
  if ('doubleValue' in v) return lib === 'chrome' ? `num:${Number(v.doubleValue)}` : `double:${Number(v.doubleValue)}`;
  if ('stringValue' in v) return `string:${JSON.stringify(v.stringValue)}`;
  if ('boolValue' in v) return `bool:${v.boolValue}`;
  if ('nullValue' in v) return 'null';
  if ('bytesValue' in v) return `bytes:${Buffer.from(v.bytesValue, 'base64').toString('hex')}`;
  if ('listValue' in v) return `[${(v.listValue.values ?? []).map((x) => expectedText(x, lib)).join(',')}]`;
  if ('mapValue' in v) {
    const entries = (v.mapValue.entries ?? []).map((e) => `${expectedText(e.key, lib)}=>${expectedText(e.value, lib)}`);
    return `{${entries.sort().join(',')}}`;
  }
  if ('typeValue' in v) return `type:${v.typeValue}`;
  throw new Error('unsupported expected value');
}

/** Canonical text of a result. */
function resultText(r, lib) {
  if (r === null) return 'null';
  if (typeof r === 'bigint') return `int:${r}`;
  if (typeof r === 'number') return lib === 'chrome' ? `num:${r}` : `double:${r}`;
  if (typeof r === 'string') return `string:${JSON.stringify(r)}`;
  if (typeof r === 'boolean') return `bool:${r}`;
  if (r instanceof Uint8Array) return `bytes:${Buffer.from(r).toString('hex')}`;
  if (lib === 'buf') {
    if (buf.isCelUint(r)) return `uint:${r.value}`;
    if (buf.isCelList(r)) return `[${[...r].map((x) => resultText(x, lib)).join(',')}]`;
    if (buf.isCelMap(r)) return `{${[...r].map(([k, x]) => `${resultText(k, lib)}=>${resultText(x, lib)}`).sort().join(',')}}`;
    if (buf.isCelType(r)) return `type:${r.name}`;
  }
  if (lib === 'marc' && r?.constructor?.name === 'UnsignedInt') return `uint:${r.value}`;
  if (lib === 'marc' && r?.constructor?.name === 'Type') return `type:${r.name}`;
  if (Array.isArray(r)) return `[${r.map((x) => resultText(x, lib)).join(',')}]`;
  if (r instanceof Map) return `{${[...r].map(([k, x]) => `${resultText(k, lib)}=>${resultText(x, lib)}`).sort().join(',')}}`;
  if (typeof r === 'object') {
    return `{${Object.entries(r).map(([k, x]) => `${resultText(k, lib)}=>${resultText(x, lib)}`).sort().join(',')}}`;
  }
  return `?${String(r)}`;
}

const marcEnv = new marc.Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const RUNNERS = {
  buf(expr, bindings) {
    const out = buf.plan(buf.celEnv(), buf.parse(expr))(bindings);
    if (buf.isCelError(out)) throw out;
    return out;
  },
  // The options that follow the spec's runtime semantics most closely (mixed-type list and map literals allowed).
  marc: (expr, bindings) => marcEnv.evaluate(expr, bindings),
  chrome: (expr, bindings) => chrome.evaluate(expr, bindings),
};

function usable(test) {
  const o = test.original;
  const text = JSON.stringify(o);
  if (/objectValue|TestAllTypes|@type|google\.protobuf/.test(text)) return false;
  if (o.container || o.disableMacros || o.checkOnly) return false;
  if (o.typeEnv && JSON.stringify(o.typeEnv).includes('messageType')) return false;
  if (!o.value && !o.evalError) return false;
  if (o.value && ('enumValue' in o.value || 'objectValue' in o.value)) return false;
  return true;
}

function conformance() {
  const totals = {};
  for (const section of spec.tests.suites) {
    if (MESSAGE_SECTIONS.has(section.name)) continue;
    const group = EXTENSION_SECTIONS.has(section.name) ? 'extensions' : 'core';
    const tests = (section.suites ?? []).flatMap((s) => s.tests ?? []).concat(section.tests ?? []).filter(usable);
    for (const lib of Object.keys(RUNNERS)) {
      let passed = 0;
      let unchecked = 0;
      for (const test of tests) {
        const o = test.original;
        let ok;
        try {
          const bindings = Object.fromEntries(Object.entries(o.bindings ?? {}).map(([k, b]) => [k, toInput(b.value, lib)]));
          const out = RUNNERS[lib](o.expr, bindings);
          ok = o.value !== undefined && resultText(out, lib) === expectedText(o.value, lib);
        } catch {
          ok = o.evalError !== undefined;
        }
        if (ok) passed++;
        else if (o.disableCheck) unchecked++;
      }
      const t = (totals[lib] ??= { core: [0, 0], extensions: [0, 0], unchecked: 0, sections: {} });
      if (group === 'core') t.unchecked += unchecked;
      t[group][0] += passed;
      t[group][1] += tests.length;
      t.sections[section.name] = `${passed}/${tests.length}`;
    }
  }
  return totals;
}

// ---- cost ----

const CLAIMS = {
  sub: 'alice',
  tid: '8f2c1a3e-0000-4000-8000-000000000001',
  scp: 'orders.read profile',
  roles: ['Reader', 'Admin'],
  realm_access: { roles: ['user', 'ops'] },
  exp: 1_900_000_000,
};
const REQUEST = { method: 'GET', path: '/orders/1', host: 'api.example.com', headers: { 'x-tenant': 'a' } };
const scopes = (c) => (typeof c.scp === 'string' ? c.scp.split(' ') : []);
const RULE = '"orders.read" in scopes() || "Admin" in claims.roles';
const WHEN = 'request.method in ["GET", "HEAD"]';
const NESTED = 'has(claims.realm_access) && "ops" in claims.realm_access.roles && claims.tid != ""';

function compileAll(lib) {
  if (lib === 'buf') {
    const env = buf.celEnv({ funcs: [buf.celFunc('scopes', [], buf.listType(buf.CelScalar.STRING), () => current)] });
    let current = [];
    return [WHEN, RULE, NESTED].map((e) => {
      const p = buf.plan(env, buf.parse(e));
      return (ctx) => {
        current = scopes(ctx.claims);
        return p(ctx);
      };
    });
  }
  if (lib === 'marc') {
    let current = [];
    const env = new marc.Environment()
      .registerVariable('claims', 'map')
      .registerVariable('request', 'map')
      .registerFunction('scopes(): list<string>', () => current);
    return [WHEN, RULE, NESTED].map((e) => {
      const p = env.parse(e);
      return (ctx) => {
        current = scopes(ctx.claims);
        return p(ctx);
      };
    });
  }
  return [WHEN, RULE, NESTED].map((e) => {
    const cst = chrome.parse(e).cst;
    return (ctx) => chrome.evaluate(cst, ctx, { scopes: () => scopes(ctx.claims) });
  });
}

const baseline = [
  (ctx) => ctx.request.method === 'GET' || ctx.request.method === 'HEAD',
  (ctx) => scopes(ctx.claims).includes('orders.read') || ctx.claims.roles.includes('Admin'),
  (ctx) => ctx.claims.realm_access !== undefined && ctx.claims.realm_access.roles.includes('ops') && ctx.claims.tid !== "",
];

function nsPerEval(fns) {
  const ctx = { claims: CLAIMS, request: REQUEST };
  const rounds = [];
  const n = 20_000;
  let sink = 0;
  for (let r = 0; r < 15; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) for (const f of fns) if (f(ctx) === true) sink++;
    rounds.push(Number(process.hrtime.bigint() - start) / (n * fns.length));
  }
  if (sink === 0) throw new Error('no evaluation returned true');
  rounds.sort((a, b) => a - b);
  return rounds[7];
}

const conf = conformance();
const base = nsPerEval(baseline);
process.stdout.write(`node ${process.version}; conformance (tests passed / usable tests), cost (median ns per evaluation)\n`);
process.stdout.write(`baseline (hand-written JS): ${base.toFixed(0)} ns\n`);
for (const [lib, name] of [['buf', '@bufbuild/cel 0.6.1'], ['marc', '@marcbachmann/cel-js 8.0.0'], ['chrome', 'cel-js 0.8.2']]) {
  const t = conf[lib];
  const pct = ([p, n]) => `${p}/${n} (${((100 * p) / n).toFixed(1)}%)`;
  const ns = nsPerEval(compileAll(lib));
  process.stdout.write(`${name}: core ${pct(t.core)} (failures in disableCheck tests: ${t.unchecked}), extensions ${pct(t.extensions)}; ${ns.toFixed(0)} ns (${(ns / base).toFixed(1)}x baseline)\n`);
  process.stdout.write(`  ${Object.entries(t.sections).map(([s, r]) => `${s} ${r}`).join(', ')}\n`);
}
