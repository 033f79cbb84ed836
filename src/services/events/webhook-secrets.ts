import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A new signing secret: `whsec_` + base64 of 32 random bytes, as Standard Webhooks libraries expect. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Webhook secrets at rest: the service signs every delivery, so it must be able to read the secret
 * back (a hash would not do). Each is sealed with AES-256-GCM under a key derived from TOKEN_SECRET;
 * the stored value is iv || tag || ciphertext, and tampering fails the tag check.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key.');
  }

  seal(plaintext: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  }

  open(sealed: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
