/** A response body as plain data; arrays become EC2's `<item>` lists, dates ISO 8601 text. */
export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | readonly XmlValue[]
  | { readonly [key: string]: XmlValue };

const NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function renderResponse(action: string, requestId: string, body: Readonly<Record<string, XmlValue>>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACE}"><requestId>${requestId}</requestId>${renderFields(body)}</${action}Response>`;
}

/** EC2's error envelope; the SDK reads `Code` into the exception name. */
export function renderError(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

function renderFields(fields: Readonly<Record<string, XmlValue>>): string {
  return Object.entries(fields)
    .map(([name, value]) => (value === undefined ? '' : `<${name}>${renderValue(value)}</${name}>`))
    .join('');
}

function renderValue(value: Exclude<XmlValue, undefined>): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => `<item>${renderValue(item)}</item>`).join('');
  if (typeof value === 'object') return renderFields(value as Record<string, XmlValue>);
  return escapeXml(String(value));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
