// GET …/models: one object that every SDK accepts. The OpenAI SDK reads `data[].id/object`,
// the Anthropic SDK reads `data[].id/type/display_name/created_at` plus has_more/first_id/
// last_id for paging, and Gemini's models.list reads `models[].name`. Each entry carries all
// fields. Everything is precomputed once: the benchmark may hit this route hard.

const CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z
const CREATED_AT = new Date(CREATED * 1000).toISOString();

const CATALOG: Array<[id: string, owner: string]> = [
  ['claude-sonnet-4-6', 'anthropic'],
  ['claude-haiku-4-6', 'anthropic'],
  ['gpt-5', 'openai'],
  ['gpt-5-mini', 'openai'],
  ['gemini-2.5-flash', 'google'],
  ['gemini-2.5-pro', 'google'],
];

function entry(id: string, owner: string): Record<string, unknown> {
  return {
    id,
    object: 'model',
    type: 'model',
    created: CREATED,
    created_at: CREATED_AT,
    owned_by: owner,
    display_name: `${id} (mock)`,
  };
}

function geminiEntry(id: string): Record<string, unknown> {
  return {
    name: `models/${id}`,
    displayName: `${id} (mock)`,
    inputTokenLimit: 1_000_000,
    outputTokenLimit: 65_536,
    supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'],
  };
}

export const MODELS_LIST_BODY = JSON.stringify({
  object: 'list',
  data: CATALOG.map(([id, owner]) => entry(id, owner)),
  has_more: false,
  first_id: CATALOG[0]![0],
  last_id: CATALOG[CATALOG.length - 1]![0],
  models: CATALOG.map(([id]) => geminiEntry(id)),
});

/** GET …/models/{id}: any id "exists", echoed back with every SDK's fields. */
export function modelBody(id: string): string {
  const owner = id.startsWith('claude') ? 'anthropic' : id.startsWith('gemini') ? 'google' : 'openai';
  return JSON.stringify({ ...entry(id, owner), ...geminiEntry(id) });
}
