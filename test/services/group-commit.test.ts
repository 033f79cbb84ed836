import t from 'tap';
import { GroupCommit } from '../../src/services/group-commit.js';

/** A batch writer that records its batches and answers each input doubled, after a tick. */
function doubler(fail: (batch: number[]) => boolean = () => false) {
  const batches: number[][] = [];
  const write = async (inputs: number[]) => {
    batches.push(inputs);
    await new Promise((resolve) => setImmediate(resolve));
    if (fail(inputs)) throw new Error(`batch ${inputs.join(',')} failed`);
    return inputs.map((n) => n * 2);
  };
  return { batches, write };
}

t.test('calls that arrive during a write share the next one, in order, each with its own answer', async (t) => {
  const { batches, write } = doubler();
  const commit = new GroupCommit(write);
  const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => commit.submit(n)));
  t.same(answers, [2, 4, 6, 8, 10]);
  t.same(batches, [[1], [2, 3, 4, 5]], 'the first call goes at once; the rest wait for it and go together');
  t.same(await commit.submit(6), 12, 'an idle commit writes at once');
  t.same(batches.at(-1), [6]);
});

t.test('batches never exceed their maximum size', async (t) => {
  const { batches, write } = doubler();
  const commit = new GroupCommit(write, 2);
  await Promise.all([1, 2, 3, 4, 5, 6].map((n) => commit.submit(n)));
  t.same(batches, [[1], [2, 3], [4, 5], [6]]);
});

t.test('a failed batch is retried call by call, so one bad call fails alone', async (t) => {
  const { batches, write } = doubler((batch) => batch.includes(3));
  const commit = new GroupCommit(write);
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => commit.submit(n)));
  t.same(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [2, 4, 'batch 3 failed', 8],
  );
  t.same(batches, [[1], [2, 3, 4], [2], [3], [4]]);
  t.equal(await commit.submit(5), 10, 'the commit keeps working after a failure');
});
