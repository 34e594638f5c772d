/**
 * Credential fingerprints: a keyed one-way hash (HMAC-SHA256 with a random secret kept in
 * the data folder) of a client's own credential, truncated. Usage can then be attributed
 * to "the same key" without the key ever being stored, and without the fingerprint being
 * checkable against a guessed key by anyone who lacks the secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { tightenIfExists } from '../private-files.js';

export class CredentialFingerprinter {
  private constructor(private readonly secret: Buffer) {}

  /** load reads the install's secret, creating it (mode 0600) on first start. */
  static async load(path: string): Promise<CredentialFingerprinter> {
    const existing = await readSecret(path);
    if (existing) return new CredentialFingerprinter(existing);
    const secret = randomBytes(32);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, secret.toString('hex'), { mode: 0o600 });
    return new CredentialFingerprinter(secret);
  }

  /**
   * shared uses the secret every replica on one database shares (`--database`): `exchange`
   * stores a candidate unless one is stored already and returns the one stored. The
   * candidate is this install's own file when it has one, so fingerprints recorded before
   * the move to PostgreSQL still match.
   */
  static async shared(path: string, exchange: (candidateHex: string) => Promise<string>): Promise<CredentialFingerprinter> {
    const candidate = (await readSecret(path)) ?? randomBytes(32);
    const secret = Buffer.from(await exchange(candidate.toString('hex')), 'hex');
    if (secret.length < 32) throw new Error('the telemetry secret stored in the database is shorter than 32 bytes');
    return new CredentialFingerprinter(secret);
  }

  static forTests(): CredentialFingerprinter {
    return new CredentialFingerprinter(randomBytes(32));
  }

  /** of returns `kf_` and the first 16 hex characters of the HMAC of the credential. */
  of(credential: string): string {
    return `kf_${createHmac('sha256', this.secret).update(credential).digest('hex').slice(0, 16)}`;
  }
}

/** readSecret reads a secret file (tightening its mode), or undefined when there is none. */
async function readSecret(path: string): Promise<Buffer | undefined> {
  try {
    const existing = Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
    if (existing.length < 32) return undefined;
    await tightenIfExists(path);
    return existing;
  } catch {
    return undefined; // none yet
  }
}
