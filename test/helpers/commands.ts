// Shared by the command-runner tests: expect a run to fail with a given ExecError code.
import assert from 'node:assert/strict';
import { ExecError, type ExecErrorCode } from '../../src/core/errors.ts';

export async function failure(p: Promise<unknown>, code: ExecErrorCode): Promise<ExecError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ExecError, String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`succeeded, expected ${code}`);
}
