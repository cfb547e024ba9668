import { table } from './table';

/*
 * The cost of a run as a formula of its counts and AWS's public list prices in us-east-1 (looked up
 * 2026-12-01: Step Functions on aws.amazon.com/step-functions/pricing; Lambda in AWS's "How AWS
 * Pricing Works" and SQS FIFO in AWS's FIFO announcement, both matching 2026 pricing guides;
 * DynamoDB on-demand as set by AWS's November 2024 price cut, not re-checked). Not a bill: free
 * tiers, CloudWatch Logs, EventBridge (AWS service events on the default bus are free),
 * CodePipeline and CodeBuild minutes and data transfer are left out.
 */
export const PRICES = {
  transition: 0.025 / 1000,
  lambdaRequest: 0.20 / 1e6,
  lambdaGbSecond: 0.0000166667,
  dynamoDbWrite: 0.625 / 1e6,
  dynamoDbRead: 0.125 / 1e6,
  sqsFifoRequest: 0.50 / 1e6,
};

/** Billed duration assumed per Lambda invocation (the emulator's in-process times are not Lambda's). */
export const ASSUMED_SECONDS = 0.2;

export interface RunCounts {
  readonly name: string;
  readonly transitions: number;
  readonly lambdaInvocations: number;
  /** The functions' memory, MB. */
  readonly memoryMb: number;
  readonly dynamoDbWrites: number;
  readonly dynamoDbReads: number;
  readonly sqsRequests: number;
}

const usd = (n: number) => (n === 0 ? '0' : n < 0.0001 ? n.toExponential(2) : n.toFixed(6).replace(/0+$/, ''));

export function costTable(runs: RunCounts[]): string {
  const rows = runs.map(r => {
    const parts = {
      sfn: r.transitions * PRICES.transition,
      lambda: r.lambdaInvocations * (PRICES.lambdaRequest + (r.memoryMb / 1024) * ASSUMED_SECONDS * PRICES.lambdaGbSecond),
      dynamo: r.dynamoDbWrites * PRICES.dynamoDbWrite + r.dynamoDbReads * PRICES.dynamoDbRead,
      sqs: r.sqsRequests * PRICES.sqsFifoRequest,
    };
    const formula = [
      r.transitions ? `${r.transitions} T` : '',
      r.lambdaInvocations ? `${r.lambdaInvocations} x (L + ${r.memoryMb / 1024} GB x ${ASSUMED_SECONDS} s x G)` : '',
      r.dynamoDbWrites ? `${r.dynamoDbWrites} W` : '',
      r.dynamoDbReads ? `${r.dynamoDbReads} R` : '',
      r.sqsRequests ? `${r.sqsRequests} Q` : '',
    ].filter(Boolean).join(' + ');
    const total = parts.sfn + parts.lambda + parts.dynamo + parts.sqs;
    return [r.name, formula, usd(parts.sfn), usd(parts.lambda), usd(parts.dynamo), usd(parts.sqs), usd(total)];
  });
  return table('Cost per run (list prices, us-east-1)', ['run', 'formula', 'Step Functions $', 'Lambda $', 'DynamoDB $', 'SQS $', 'total $'], rows, [
    'T = $0.025 per 1,000 Step Functions standard state transitions; L = $0.20 per 1M Lambda requests;',
    'G = $0.0000166667 per Lambda GB-second (x86; the duration is assumed, 0.2 s per invocation);',
    'W = $0.625 per 1M DynamoDB on-demand write request units; R = $0.125 per 1M read request units',
    '(one unit per call: items under 1 KB); Q = $0.50 per 1M SQS FIFO requests (the fanout\'s include the harness\'s',
    'empty receives, which Lambda\'s own polling replaces). us-east-1 list prices looked up 2026-12-01 (sources in',
    'scripts/bench/cost.ts). Not counted: free tiers, CloudWatch Logs, CodePipeline, CodeBuild minutes (the Ansible',
    'stage, the fanout\'s builds), SSM Run Command (no charge on EC2).',
  ], [1]);
}
