import { AppError } from '../errors.js';
import type { FunnelRow, ReportRepository } from '../repositories/report-repository.js';

/** The back office: reports and actions for the product's admins. */
export class AdminService {
  constructor(private readonly deps: { reports: ReportRepository; steps: readonly string[] }) {}

  /** The onboarding funnel of workspaces created in [from, to); defaults to the last 30 days. */
  async funnel(range: { from?: Date; to?: Date }): Promise<FunnelRow & { from: Date; to: Date }> {
    const to = range.to ?? new Date();
    const from = range.from ?? new Date(to.getTime() - 30 * 86_400_000);
    if (from >= to) {
      throw new AppError('validation_failed', '`from` must be before `to`.', { fields: [{ field: 'from', message: 'must be before to' }] });
    }
    return { from, to, ...(await this.deps.reports.funnel(from, to, this.deps.steps)) };
  }
}
