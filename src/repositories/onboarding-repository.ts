import { Repository } from './repository.js';

/** SQL for onboarding_progress. */
export class OnboardingRepository extends Repository {
  /** The empty progress row every new workspace starts with. */
  async insert(workspaceId: string): Promise<void> {
    await this.db.insertInto('onboarding_progress').values({ workspace_id: workspaceId }).execute();
  }
}
