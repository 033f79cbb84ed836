interface Waiting<In, Out> {
  input: In;
  resolve(output: Out): void;
  reject(error: unknown): void;
}

/**
 * Group commit for hot, independent writes: calls that arrive while a write is in flight are
 * written together, in one statement, by the next one. An idle service writes each call at once;
 * under load there is one statement per batch rather than per call, which saves the database most
 * of its per-statement and per-commit work.
 *
 * `writeBatch` gets the inputs in arrival order and answers one output per input, in the same
 * order. When a batch fails, each of its calls is retried alone, so one call's failure (or a
 * deadlock between two instances' batches) never fails another call.
 */
export class GroupCommit<In, Out> {
  private waiting: Waiting<In, Out>[] = [];
  private writing = false;

  constructor(
    private readonly writeBatch: (inputs: In[]) => Promise<Out[]>,
    private readonly maxBatch = 100,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) await this.write(this.waiting.splice(0, this.maxBatch));
    } finally {
      this.writing = false;
    }
  }

  private async write(batch: Waiting<In, Out>[]): Promise<void> {
    try {
      const outputs = await this.writeBatch(batch.map((call) => call.input));
      batch.forEach((call, i) => call.resolve(outputs[i]!));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      await Promise.all(batch.map((call) => this.writeBatch([call.input]).then(([output]) => call.resolve(output!), call.reject)));
    }
  }
}
