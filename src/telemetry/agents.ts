/**
 * Client agents: which tool sent a request (Claude Code, Codex, Gemini CLI, an SDK, the
 * chat), for the adoption analytics and the Logs filter. The agent is worked out when the
 * data is read, as one SQL expression over the recorded `client` and `user_agent`, so
 * recording costs nothing more and records written before this existed are classified
 * too. SQLite's LIKE ignores ASCII case, and every pattern is a prefix, so the
 * expression is a handful of string comparisons per row.
 */

/** The agents, in the order the expression tries them, and the user agents each matches. */
export const AGENT_PATTERNS: ReadonlyArray<readonly [agent: string, userAgentPrefixes: readonly string[]]> = [
  // `claude-cli/2.1.197 (external, cli)`; older builds and the Agent SDK say `claude-code/…`.
  ['claude-code', ['claude-cli/', 'claude-code/', 'claude-code ']],
  // `codex_exec/0.171.0 (…)`, `codex_cli_rs/…`, the VS Code extension `codex_vscode/…`.
  ['codex', ['codex_', 'codex/']],
  // `GeminiCLI-tui/0.61.0/<model> (linux; x64; terminal)`, `GeminiCLI/0.1.0 …`.
  ['gemini-cli', ['GeminiCLI']],
  ['anthropic-sdk', ['Anthropic/']],
  ['openai-sdk', ['OpenAI/']],
  ['google-genai-sdk', ['google-genai-sdk/']],
];

/** Agents that come from who made the request rather than its user agent. */
const CLIENT_AGENTS: Readonly<Record<string, string>> = { 'chat-ui': 'chat', 'dashboard-test': 'dashboard' };

/** What a request is that no pattern matches. */
export const OTHER_AGENT = 'other';

/** Every agent name the expression can produce (the Logs filter offers these). */
export const AGENTS: readonly string[] = [...AGENT_PATTERNS.map(([a]) => a), ...Object.values(CLIENT_AGENTS), OTHER_AGENT];

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
/**
 * agentSql is the agent of a `requests` row, as an SQL expression over its columns; `like`
 * is the case-blind LIKE of the dialect (SQLite's LIKE ignores ASCII case, PostgreSQL's
 * ILIKE does).
 */
export function agentSql(like: 'LIKE' | 'ILIKE'): string {
  // `_` and `%` are LIKE wildcards; the prefixes escape them with `\`.
  const prefix = (p: string) => `user_agent ${like} ${quote(p.replace(/[\\%_]/g, (c) => `\\${c}`) + '%')} ESCAPE '\\'`;
  return `(CASE${Object.entries(CLIENT_AGENTS)
    .map(([client, agent]) => ` WHEN client = ${quote(client)} THEN ${quote(agent)}`)
    .join('')}${AGENT_PATTERNS.map(([agent, prefixes]) => ` WHEN ${prefixes.map(prefix).join(' OR ')} THEN ${quote(agent)}`).join('')} ELSE ${quote(OTHER_AGENT)} END)`;
}

/** AGENT_SQL is the agent of a `requests` row in SQLite. */
export const AGENT_SQL = agentSql('LIKE');
