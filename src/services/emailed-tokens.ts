import type { TokenDeriver } from './token-deriver.js';

/**
 * The links emailed for each intent, derived from the row they belong to (see TokenDeriver): the
 * code that writes the row stores the hash, and the email job derives the same token again.
 */
export const emailedTokens = {
  /** The link of one email_verifications row. */
  verification: (tokens: TokenDeriver, verificationId: string) => tokens.token('email-verification', verificationId),
  /** The link of one send of an invitation: a resend (the next number) gets a new one. */
  invitation: (tokens: TokenDeriver, invitationId: string, sendNumber: number) => tokens.token('invitation', `${invitationId}.${sendNumber}`),
};
