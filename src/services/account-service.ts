import { AppError } from '../errors.js';
import type { AccountRepository } from '../repositories/account-repository.js';
import type { WorkspaceRepository } from '../repositories/workspace-repository.js';
import { toAccountView, toMembershipView, type AccountView, type MembershipView } from './views.js';

/** What a signed-in person sees of themself. */
export class AccountService {
  constructor(
    private readonly accounts: AccountRepository,
    private readonly workspaces: WorkspaceRepository,
  ) {}

  /** The account and every workspace it belongs to, with its role in each. */
  async me(accountId: string): Promise<{ account: AccountView; workspaces: MembershipView[] }> {
    const account = await this.accounts.findById(accountId);
    if (!account) throw new AppError('unauthenticated', 'Sign in to continue.');
    const memberships = await this.workspaces.listForAccount(accountId);
    return { account: toAccountView(account), workspaces: memberships.map(toMembershipView) };
  }
}
