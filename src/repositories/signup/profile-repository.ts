import { Repository } from '../repository.js';

/** A person's profile: name, company and postal address (country as ISO 3166-1 alpha-2). */
export interface ProfileInput {
  accountId: string;
  firstName: string;
  lastName: string;
  companyName: string | null;
  address: { line1: string; line2?: string; city: string; region?: string; postalCode: string; country: string } | null;
}

/** SQL for profiles (one per account). */
export class ProfileRepository extends Repository {
  async insert(input: ProfileInput): Promise<void> {
    const address = input.address;
    await this.db
      .insertInto('profiles')
      .values({
        account_id: input.accountId,
        first_name: input.firstName,
        last_name: input.lastName,
        company_name: input.companyName,
        address_line1: address?.line1 ?? null,
        address_line2: address?.line2 ?? null,
        city: address?.city ?? null,
        region: address?.region ?? null,
        postal_code: address?.postalCode ?? null,
        country: address?.country ?? null,
      })
      .execute();
  }
}
