/**
 * The configuration keyway writes on first start when its data folder has none:
 * passthrough-only providers for Anthropic, OpenAI and Gemini, so every caller uses their
 * own key or subscription login, and a grant that gives this machine's own user
 * (loopback) admin and every model. Nothing else is needed to point Claude Code at it.
 */
export const STARTER_CONFIG = `// keyway configuration (HuJSON: comments and trailing commas are fine).
// Edit it in the dashboard (/ui/config), through the admin API, or, when keyway keeps
// it in a file, in this file; changes apply without a restart.
// Reference: docs/configuration.md
{
  "providers": {
    // Anthropic in passthrough mode: each caller's own API key (x-api-key) or
    // Claude subscription login (Authorization: Bearer) goes upstream unchanged.
    // Add "apikey" to give callers without a credential a shared fallback key.
    "anthropic": {
      "name": "Anthropic",
      "baseurl": "https://api.anthropic.com",
      "authorization": "x-api-key",
      "auth_mode": "passthrough",
      "models": [
        "claude-opus-4-8",
        "claude-opus-4-5",
        "claude-sonnet-4-6",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "claude-haiku-4-5-20251001",
      ],
      "compatibility": { "anthropic_messages": true },
    },
    // OpenAI in passthrough mode: each caller's own API key goes upstream unchanged.
    "openai": {
      "name": "OpenAI",
      "baseurl": "https://api.openai.com",
      "authorization": "bearer",
      "auth_mode": "passthrough",
      "models": [
        "gpt-5.5",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-5-codex",
        "gpt-4.1",
        "gpt-4o",
        "gpt-4o-mini",
      ],
      "compatibility": { "openai_chat": true, "openai_responses": true },
    },
    // Google Gemini API in passthrough mode (x-goog-api-key).
    "gemini": {
      "name": "Google Gemini",
      "baseurl": "https://generativelanguage.googleapis.com",
      "authorization": "x-goog-api-key",
      "auth_mode": "passthrough",
      "models": [
        "gemini-3.1-pro-preview",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
      ],
      "compatibility": { "gemini_generate_content": true },
    },
  },
  "grants": [
    // Callers on this machine (loopback) administer keyway and may use every model.
    // When keyway serves a tailnet, add grants for logins, groups or tags here.
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
