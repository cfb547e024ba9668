import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { resetAwsClients } from '../../../lambda-src/core/aws-clients';
import { boundOutputVariables, bytesOf, joinWithin } from '../../../lambda-src/core/payload';
import { putJobSuccess } from '../../../lambda-src/core/pipeline-job';
import { PIPELINE_OUTPUT_VARIABLES_MAX_BYTES } from '../../../src/core/private/quotas';

// CodePipeline quotas, "Maximum size of output variables": 122,880 bytes for all output variables
// of one action together (PutJobSuccessResult answers OutputVariablesSizeExceededException past it).
const codepipeline = mockClient(CodePipelineClient);
beforeEach(() => {
  codepipeline.reset();
  resetAwsClients();
  codepipeline.onAnyCommand().resolves({});
});

const size = (variables: Record<string, string>) => Object.entries(variables).reduce((sum, [k, v]) => sum + bytesOf(k) + bytesOf(v), 0);

test('joinWithin keeps what fits and says how many items it left out', () => {
  expect(joinWithin(['a', 'b', 'c'], ',', 100, n => `+${n}`)).toBe('a,b,c');
  expect(joinWithin(['aaaa', 'bbbb', 'cccc', 'dddd'], ',', 12, n => `+${n}`)).toBe('aaaa,bbbb,+2');
});

test('output variables past CodePipeline\'s limit are cut, the largest first, and fit it whatever their characters', () => {
  const variables = { CommandId: 'c-1', Results: 'ü'.repeat(100_000), Log: 'x'.repeat(60_000) };
  const bounded = boundOutputVariables(variables);
  expect(size(bounded)).toBeLessThanOrEqual(PIPELINE_OUTPUT_VARIABLES_MAX_BYTES);
  expect(bounded.CommandId).toBe('c-1');
  expect(bounded.Results.endsWith('...[cut]')).toBe(true);
  expect(bounded.Results).not.toContain('\uFFFD');
  expect(boundOutputVariables({ a: 'b' })).toEqual({ a: 'b' });
});

test('a success is reported with output variables within the limit', async () => {
  await putJobSuccess('job-1', 'ok', { Results: 'i-0123456789abcdef0=Success,'.repeat(10_000) });
  const sent = codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input.outputVariables!;
  expect(size(sent)).toBeLessThanOrEqual(PIPELINE_OUTPUT_VARIABLES_MAX_BYTES);
});
