import { randomUUID } from 'crypto';
import type { IncomingHttpHeaders } from 'http';

/** How an AWS API encodes its requests and replies. */
export type Protocol = 'json' | 'query' | 'ec2' | 'rest';

/** An AWS API call as the proxy sees it. */
export interface IdentifiedCall {
  /** SigV4 signing name, e.g. `ssm`, `states`, `lambda`, `codebuild`, `ec2`. */
  readonly service: string;
  /** e.g. `GetCommandInvocation`; `Invoke` for Lambda invocations; `<METHOD> <path>` for other REST calls. */
  readonly operation: string;
  readonly input: any;
  readonly protocol: Protocol;
}

/** A scripted answer to one call. */
export interface ScriptedReply {
  /** @default 200, or 400 for an error */
  readonly status?: number;
  /**
   * The reply body: an object (encoded as JSON, or as XML for query and EC2 APIs) or a string sent as is.
   * @default {} (an empty result)
   */
  readonly body?: any;
  /** Answer with this AWS error instead. */
  readonly error?: { readonly code: string; readonly message: string; readonly status?: number };
  /**
   * A network fault instead of an answer: `hang` never answers (the client's timeout ends the
   * call), `drop` closes the connection without answering, `applied-then-drop` lets moto (or the
   * `body`) apply the call, then closes the connection before the answer reaches the client.
   */
  readonly fault?: 'hang' | 'drop' | 'applied-then-drop';
}

export interface EncodedReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const LAMBDA_INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const CBOR_RPC_PATH = /^\/service\/[^/]+\/operation\/([^/]+)$/;

/** The Lambda function name of an Invoke path (a name, a partial or a full ARN, with or without qualifier). */
export function lambdaFunctionName(pathname: string): string | undefined {
  const match = LAMBDA_INVOKE_PATH.exec(pathname);
  if (!match) return undefined;
  const id = decodeURIComponent(match[1]);
  const arn = /(?:^|:)function:([^:]+)/.exec(id);
  return arn ? arn[1] : id.split(':')[0];
}

function signingService(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization ?? '';
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1];
}

function parseJsonOr(text: string, fallback: any): any {
  if (text === '') return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads service, operation and input from a request, for any AWS protocol. */
export function identifyCall(method: string, rawUrl: string, headers: IncomingHttpHeaders, body: Buffer): IdentifiedCall {
  const url = new URL(rawUrl, 'http://emulator');
  const text = body.toString('utf8');
  const service = signingService(headers) ?? (url.pathname.startsWith('/moto-api') ? 'moto-api' : 'unknown');

  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    return { service, operation: target.split('.').pop()!, input: parseJsonOr(text, {}), protocol: 'json' };
  }

  const form = String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(text) : url.searchParams;
  const action = form.get('Action');
  if (action) {
    const input: Record<string, string> = {};
    form.forEach((value, key) => {
      if (key !== 'Action' && key !== 'Version') input[key] = value;
    });
    return { service, operation: action, input, protocol: service === 'ec2' ? 'ec2' : 'query' };
  }

  const functionName = lambdaFunctionName(url.pathname);
  if (functionName !== undefined) {
    return {
      service: 'lambda',
      operation: 'Invoke',
      input: {
        FunctionName: functionName,
        InvocationType: headers['x-amz-invocation-type'] ?? 'RequestResponse',
        Payload: parseJsonOr(text, undefined),
      },
      protocol: 'rest',
    };
  }
  const cbor = CBOR_RPC_PATH.exec(url.pathname);
  if (cbor) return { service, operation: cbor[1], input: body, protocol: 'rest' };
  return { service, operation: `${method} ${url.pathname}`, input: parseJsonOr(text, undefined), protocol: 'rest' };
}

function escapeXml(value: unknown): string {
  return String(value).replace(/[<>&'"]/g, c => `&#${c.charCodeAt(0)};`);
}

/** Object to XML the way query (`member`) and EC2 (`item`) APIs encode lists. */
function toXml(value: any, listItem: string): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(v => `<${listItem}>${toXml(v, listItem)}</${listItem}>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value).map(([key, v]) => `<${key}>${toXml(v, listItem)}</${key}>`).join('');
  }
  return escapeXml(value);
}

/** Encodes a scripted reply the way the call's protocol expects, with a request id (the SDKs and moto's interpreter need one). */
export function encodeReply(call: IdentifiedCall, reply: ScriptedReply): EncodedReply {
  const requestId = randomUUID();
  const { error } = reply;
  const status = reply.status ?? error?.status ?? (error ? 400 : 200);
  const headers: Record<string, string> = { 'x-amzn-RequestId': requestId, 'x-amz-request-id': requestId };

  if (call.protocol === 'query' || call.protocol === 'ec2') {
    headers['content-type'] = 'text/xml';
    if (error) {
      const body = call.protocol === 'ec2'
        ? `<Response><Errors><Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
        : `<ErrorResponse><Error><Type>Sender</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
      return { status, headers, body };
    }
    if (typeof reply.body === 'string') return { status, headers, body: reply.body };
    const op = call.operation;
    const body = call.protocol === 'ec2'
      ? `<${op}Response><requestId>${requestId}</requestId>${toXml(reply.body, 'item')}</${op}Response>`
      : `<${op}Response><${op}Result>${toXml(reply.body, 'member')}</${op}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>`;
    return { status, headers, body };
  }

  headers['content-type'] = call.protocol === 'json' ? 'application/x-amz-json-1.1' : 'application/json';
  if (error) {
    headers['x-amzn-ErrorType'] = error.code;
    return { status, headers, body: JSON.stringify({ __type: error.code, message: error.message }) };
  }
  const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
  return { status, headers, body };
}
