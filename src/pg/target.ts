/**
 * describeTarget names the database a URL points at for a person reading a log line:
 * host, port, database and user, never the password (nor anything else in the query).
 */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    const port = u.port || '5432';
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
    const user = u.username ? ` as ${decodeURIComponent(u.username)}` : '';
    return `database "${db}" on ${host}:${port}${user}`;
  } catch {
    return 'the database (its URL cannot be parsed)';
  }
}
