/**
 * `keyway demo`: keyway in front of the built-in mock upstream, so the chat, the Models
 * tab's Test button, the logs and the usage charts work without any provider account.
 *
 * The demo keeps everything in its own data folder (`./keyway-demo-data` by default),
 * never in keyway-data: its configuration, history, telemetry and conversations. The mock
 * starts in this process on a free loopback port and the configuration names it as
 * `${KEYWAY_DEMO_UPSTREAM}`, so the file stays valid from one run to the next and edits to
 * it survive restarts.
 */
import { startMockUpstream, type MockUpstream } from './mock-upstream/index.js';
import { startKeyway, type Keyway, type ServerSettings, type StartOptions } from './start.js';

/** The demo's data folder when --data-dir is not given (relative to the working directory). */
export const DEMO_DATA_DIR = './keyway-demo-data';

/** The environment variable the demo configuration reads the mock's URL from. */
export const DEMO_UPSTREAM_VAR = 'KEYWAY_DEMO_UPSTREAM';

/**
 * DEMO_CONFIG is written on the demo's first start. Model names are ones the price table
 * knows, so the usage charts show costs; the keys are fakes the mock accepts (it checks
 * only their prefix). One provider is in passthrough mode with a fallback key, to show
 * both: a caller's own key goes upstream, a caller without one gets the fallback.
 */
export const DEMO_CONFIG = `// keyway demo configuration (HuJSON), written by \`keyway demo\` into its own data
// folder. Every provider points at the built-in mock upstream, which the demo starts on a
// free port and names in \${${DEMO_UPSTREAM_VAR}}; it answers every request with
// "MOCK_OK (<api> <model>)". Edit freely: changes apply at once and are kept across
// restarts; delete the folder to start over. For real providers run \`keyway serve\`.
{
  "providers": {
    // Passthrough with a fallback: a caller's own Anthropic-style key (sk-ant-…) goes
    // upstream unchanged, and the mock refuses it with Anthropic's 401 if it is not one;
    // callers without a key (the chat, the Test button) use the fallback key.
    "demo-anthropic": {
      "name": "Demo Anthropic (mock)",
      "description": "The built-in mock upstream, speaking the Anthropic Messages API",
      "baseurl": "\${${DEMO_UPSTREAM_VAR}}",
      "authorization": "x-api-key",
      "auth_mode": "passthrough",
      "apikey": "sk-ant-test-demo-fallback-key",
      "models": ["claude-sonnet-4-5", "claude-haiku-4-5"],
      "compatibility": { "anthropic_messages": true },
    },
    // Override: whatever key a caller sends is replaced by this one.
    "demo-openai": {
      "name": "Demo OpenAI (mock)",
      "description": "The built-in mock upstream, speaking the OpenAI Chat Completions and Responses APIs",
      "baseurl": "\${${DEMO_UPSTREAM_VAR}}",
      "authorization": "bearer",
      "auth_mode": "override",
      "apikey": "sk-test-demo-openai-key",
      "models": ["gpt-5-mini", "gpt-4o-mini"],
      "compatibility": { "openai_chat": true, "openai_responses": true },
    },
    "demo-gemini": {
      "name": "Demo Gemini (mock)",
      "description": "The built-in mock upstream, speaking the Gemini API",
      "baseurl": "\${${DEMO_UPSTREAM_VAR}}",
      "authorization": "x-goog-api-key",
      "auth_mode": "override",
      "apikey": "AIza-test-demo-google-key",
      "models": ["gemini-2.5-flash"],
      "compatibility": { "gemini_generate_content": true },
    },
  },
  "grants": [
    // Callers on this machine (loopback) administer the demo and may use every model.
    {
      "src": ["(loopback)"],
      "app": {
        "tailscale.com/cap/aperture": [
          { "role": "admin" },
          { "models": "**" },
        ],
      },
    },
  ],
}
`;

/** Streams arrive in visible steps in the chat: eight deltas, 40 ms apart. */
const DEMO_MOCK = { chunks: 8, chunkIntervalMs: 40, record: false } as const;

export interface Demo {
  keyway: Keyway;
  upstream: MockUpstream;
  close(graceMs?: number): Promise<void>;
}

/**
 * startDemo starts the mock upstream and a keyway on `settings` whose configuration
 * defaults to DEMO_CONFIG. Settings must not name a config file of their own: the demo
 * writes its starter only into its data folder. Fails (with both stopped) if keyway cannot start.
 */
export async function startDemo(settings: ServerSettings, options: StartOptions = {}): Promise<Demo> {
  if (settings.configPath !== undefined) throw new Error('the demo keeps its configuration in its data folder; choose the folder with --data-dir');
  const upstream = await startMockUpstream(DEMO_MOCK);
  let keyway: Keyway;
  try {
    const env = { ...(options.env ?? process.env), [DEMO_UPSTREAM_VAR]: upstream.url };
    keyway = await startKeyway(settings, { ...options, env, starter: DEMO_CONFIG });
  } catch (err) {
    await upstream.close();
    throw err;
  }
  return {
    keyway,
    upstream,
    async close(graceMs) {
      await keyway.close(graceMs);
      await upstream.close();
    },
  };
}
