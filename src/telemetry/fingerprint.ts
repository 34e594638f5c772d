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
    try {
      const existing = Buffer.from((await readFile(path, 'utf8')).trim(), 'hex');
      if (existing.length >= 32) {
        await tightenIfExists(path);
        return new CredentialFingerprinter(existing);
      }
    } catch {
      // none yet
    }
    const secret = randomBytes(32);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, secret.toString('hex'), { mode: 0o600 });
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
