// The `tracing:` section (issue 22 §1): off by default, a ratio in [0, 1], and no half-written section.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configProblems } from '../helpers/config_problems.js';

const POLICY = `
policies:
  - name: p
    validateJwt:
      openidConfig: [{ url: "https://login.example.com/.well-known/openid-configuration" }]
      audiences: ["api://p"]
`;

function problems(text: string): readonly string[] {
  return configProblems(`${text}${POLICY}`);
}

describe('tracing config', () => {
  it('is off by default, with ratio 1 and no sub', () => {
    expect(parseConfigText(POLICY, 'test').tracing).toEqual({ enabled: false, samplerRatio: 1, recordSub: false });
  });

  it('reads enabled, samplerRatio and recordSub', () => {
    const config = parseConfigText(`tracing: { enabled: true, samplerRatio: 0.01, recordSub: true }${POLICY}`, 'test');
    expect(config.tracing).toEqual({ enabled: true, samplerRatio: 0.01, recordSub: true });
  });

  it('refuses a ratio outside [0, 1], unknown keys, and tuning without saying enabled', () => {
    expect(problems('tracing: { enabled: true, samplerRatio: 1.5 }')).toEqual([
      'tracing.samplerRatio: must be a number from 0 to 1, got number 1.5',
    ]);
    expect(problems('tracing: { enabled: true, exporter: otlp }')[0]).toMatch(/^tracing\.exporter: unknown key/);
    expect(problems('tracing: { enabled: yes }')).toEqual(['tracing.enabled: must be true or false, got string "yes"']);
    expect(problems('tracing: { samplerRatio: 0.1 }')).toEqual([
      'tracing.enabled: is required when samplerRatio or recordSub is set (true or false)',
    ]);
    expect(problems('tracing: { enabled: false, samplerRatio: 0.1 }')).toEqual([]);
  });
});
