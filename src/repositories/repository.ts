import type { Db, Tx } from '../db/database.js';

/** Base of every repository: bound to the pool, or to one transaction through `withTx`. */
export abstract class Repository {
  constructor(protected readonly db: Db) {}

  /** The same repository, running its queries inside `trx`. */
  withTx(trx: Tx): this {
    const Ctor = this.constructor as new (db: Db) => this;
    return new Ctor(trx);
  }
}
