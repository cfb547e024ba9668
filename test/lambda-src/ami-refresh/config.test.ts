import { clientToken, imageName } from '../../../lambda-src/ami-refresh/config';

const EXECUTION = '3f1c2b9e-7d4a-4e8b-9c1d-2a3b4c5d6e7f';

describe('image names', () => {
  test('fill the pattern and turn characters an image name may not hold into -', () => {
    expect(imageName('{group}-{executionId}', 'web:blue/green', EXECUTION)).toBe(`web-blue/green-${EXECUTION}`);
    expect(imageName('release {executionId} of {group}', 'web', EXECUTION)).toBe(`release ${EXECUTION} of web`);
  });

  test('a long group name is shortened, never the execution id, leaving room for the copy\'s -encrypted', () => {
    const name = imageName('{group}-{executionId}', 'g'.repeat(255), EXECUTION);
    expect(name.endsWith(`-${EXECUTION}`)).toBe(true);
    expect(name.length).toBe(128 - '-encrypted'.length);
    expect(imageName('{group}/{group}-{executionId}', 'g'.repeat(255), EXECUTION).length).toBeLessThanOrEqual(118);
  });
});

test('client tokens are the same for the same publication and differ otherwise, within 64 characters', () => {
  expect(clientToken('lt-1', EXECUTION, 'ami-1')).toBe(clientToken('lt-1', EXECUTION, 'ami-1'));
  expect(clientToken('lt-1', EXECUTION, 'ami-2')).not.toBe(clientToken('lt-1', EXECUTION, 'ami-1'));
  expect(clientToken('lt-1', EXECUTION, 'ami-1')).toHaveLength(64);
});
