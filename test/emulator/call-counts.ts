import type { RecordedCall } from './proxy';

const WRITES = /^(Put|Update|Delete|BatchWrite|TransactWrite)/;

/** The DynamoDB calls among recorded ones, as writes and reads (what on-demand capacity bills). */
export function dynamoDbCounts(calls: RecordedCall[]): { dynamoDbWrites: number; dynamoDbReads: number } {
  const dynamo = calls.filter(c => c.service === 'dynamodb');
  const writes = dynamo.filter(c => WRITES.test(c.operation)).length;
  return { dynamoDbWrites: writes, dynamoDbReads: dynamo.length - writes };
}
