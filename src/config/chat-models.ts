/**
 * `chat_models`: which models the chat UI offers, in which order, under which labels. The
 * reference mentions the key only from a third-party source ("curating the chat model
 * picker: labels, narrowing"), so keyway defines the shape:
 *
 * ```jsonc
 * "chat_models": [
 *   { "model": "anthropic/claude-sonnet-4-6", "label": "Claude Sonnet (everyday)" },
 *   "openai/gpt-5-mini",      // exact provider/model, shown as its name
 *   "gemini/**"               // a grant-style pattern: every Gemini model, after the ones above
 * ]
 * ```
 *
 * Without the key chat offers every model the caller may use (and chat can authenticate
 * for); with it, only the models an entry matches, in entry order (the first is the default
 * for a new conversation). Grants still decide: an entry never offers a model the caller is
 * not granted.
 */
import { isObject, type Checker, type Obj } from './checker.js';
import type { ProviderSpec } from './types.js';
import { globSegmentMatches } from './validate-sections.js';

export interface ChatModelRule {
  /** `provider/model`, or a grant-style pattern (`*` within a segment, `**` any segments). */
  model: string;
  /** Shown in the picker instead of the name; only on exact entries. */
  label: string | undefined;
}

/** validateChatModels reads `chat_models`; undefined when the document has none. */
export function validateChatModels(c: Checker, doc: Obj, providers: readonly ProviderSpec[]): ChatModelRule[] | undefined {
  const list = c.array(doc, 'chat_models', []);
  if (!list) return undefined;
  if (list.length === 0) c.warn(['chat_models'], 'chat_models is empty, so chat offers no model; remove the key to offer every model');
  const rules: ChatModelRule[] = [];
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    const path = ['chat_models', i];
    let model: string;
    let label: string | undefined;
    if (typeof entry === 'string') {
      model = entry;
    } else if (isObject(entry)) {
      c.unknownKeys(entry, new Set(['model', 'label']), path);
      model = c.string(entry, 'model', path);
      label = c.string(entry, 'label', path).trim() || undefined;
      // A model of the wrong type is already reported by the reader.
      if (entry.model !== undefined && entry.model !== null && typeof entry.model !== 'string') return;
    } else {
      c.error(path, 'chat_models entries must be "provider/model" or {"model": "provider/model", "label": "…"}');
      return;
    }
    if (model === '') {
      c.error(path, 'chat_models entries need a model such as "anthropic/claude-sonnet-4-6"');
      return;
    }
    const slash = model.indexOf('/');
    if (slash <= 0 || slash === model.length - 1) {
      c.error(path, `chat_models entry "${model}" must be provider/model (like "openai/gpt-5") or a pattern (like "openai/**")`);
      return;
    }
    const wildcard = model.includes('*');
    if (wildcard && label !== undefined) {
      c.error([...path, 'label'], `chat_models entry "${model}" is a pattern; a label names one model, so give it an exact provider/model`);
      return;
    }
    if (seen.has(model)) {
      c.error(path, `chat_models lists "${model}" more than once`);
      return;
    }
    seen.add(model);
    const providerPart = model.slice(0, slash);
    const modelPart = model.slice(slash + 1);
    const provider = providers.find((p) => p.id === providerPart);
    if (!wildcard && !provider) {
      c.warn(path, `chat_models entry "${model}" references provider "${providerPart}" which does not match any declared provider`);
    } else if (!wildcard && provider && !provider.models.includes(modelPart)) {
      c.warn(path, `chat_models entry "${model}": provider ${providerPart} does not list model "${modelPart}", so chat cannot offer it`);
    } else if (wildcard && providerPart !== '**' && !providers.some((p) => globSegmentMatches(providerPart, p.id))) {
      c.warn(path, `chat_models entry "${model}" references provider "${providerPart}" which does not match any declared provider`);
    }
    rules.push({ model, label });
  });
  return rules;
}
