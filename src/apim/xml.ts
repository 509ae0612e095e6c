/**
 * Reading an APIM policy document: XML with line numbers, after making APIM's policy expressions well-formed.
 *
 * APIM accepts raw double quotes, `&&` and `<` inside `@(...)` and `@{...}` expressions, even within a
 * double-quoted attribute (`token-value="@(context.Request.Cookies.GetValueOrDefault("at"))"`). No XML parser
 * does, so such expressions are escaped first; the escaping never adds or removes a line, so every line
 * number still points into the user's file.
 */
import { DOMParser, type Element as DomElement, type Node as DomNode } from '@xmldom/xmldom';

export interface XmlAttribute {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

export interface XmlElement {
  readonly name: string;
  readonly line: number;
  readonly attributes: readonly XmlAttribute[];
  readonly children: readonly XmlElement[];
  /** The element's own text (CDATA included), without its children's; not trimmed. */
  readonly text: string;
  readonly parent: XmlElement | undefined;
}

export class XmlSyntaxError extends Error {
  readonly line: number | undefined;

  constructor(message: string, line: number | undefined) {
    super(message);
    this.name = 'XmlSyntaxError';
    this.line = line;
  }
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
/** Wraps the input so that a bare element, or a fragment of several, is a document; on line 1, so lines stay true. */
const WRAPPER = 'tokengate-import-root';

/**
 * Parses a policy document, a `<fragment>`, or bare elements. Returns the synthetic root that holds the input's
 * top-level elements. Throws XmlSyntaxError (with the line when known) on anything that is not well-formed.
 */
export function parsePolicyXml(text: string): XmlElement {
  const body = protectExpressions(stripDeclaration(text.replace(/^\uFEFF/, '')));
  // No APIM policy has a DTD; refusing one keeps entity expansion (and its tricks) out of the importer.
  const doctype = /<!DOCTYPE/i.exec(body);
  if (doctype) {
    throw new XmlSyntaxError(
      'a DOCTYPE is not part of an APIM policy',
      body.slice(0, doctype.index).split('\n').length,
    );
  }
  let failure: { message: string; line: number | undefined } | undefined;
  const parser = new DOMParser({
    onError: (_level, message, context) => {
      // Stop at the first complaint, warnings included: a lenient parse could hide a mis-read attribute.
      const line = (context as { locator?: { lineNumber?: number } } | undefined)?.locator?.lineNumber;
      failure ??= { message: plainXmlMessage(message), line };
      throw new Error(message);
    },
  });
  let doc: ReturnType<DOMParser['parseFromString']>;
  try {
    doc = parser.parseFromString(`<${WRAPPER}>${body}</${WRAPPER}>`, 'text/xml');
  } catch (err) {
    const line = failure?.line ?? lineOfParseError(err);
    throw new XmlSyntaxError(failure?.message ?? plainXmlMessage((err as Error).message), line);
  }
  const root = doc.documentElement;
  if (!root) throw new XmlSyntaxError('no element found', undefined);
  return convert(root, undefined);
}

/** xmldom's wording (`attribute "1" missed quot(")!!`) as one plain sentence; the caller prints FILE:LINE. */
const PLAIN_MESSAGES: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  [/ending tag mismatch: "([^"]*)" != "tokengate-import-root"/, (m) => `<${m[1]}> is never closed`],
  [/ending tag mismatch: "([^"]*)" != "([^"]*)"/, (m) => `<${m[1]}> is not closed before </${m[2]}>`],
  [/attribute value no end '(.)' match/, (m) => `an attribute value has no closing ${m[1]}`],
  [/attribute "([^"]*)" missed quot/, (m) => `the attribute value ${m[1]} is not in quotes: write name="value"`],
  [/attribute space is required"([^"]*)"/, (m) => `attribute ${m[1]} needs a space after its value`],
  [/Attribute (\S+) redefined/, (m) => `attribute ${m[1]} is given twice`],
  [/entity not found:\s*(&[^;\s]*;?)/, (m) => `${m[1]} is not an XML entity: write &amp; for a literal &`],
  [/Unescaped '<' not allowed in attributes values/, () => 'an attribute value holds a raw <: write &lt;'],
  [/comment is not well-formed/, () => 'a comment is not closed with -->'],
  [/unexpected < in tag name: ?(\S*)/, (m) => `the tag <${m[1]} is not closed with >`],
  [/invalid tagName:\s*(\S+)/, (m) => `${m[1]} is not a valid element name`],
  [/prefix is non-null and namespace is null/, () => 'a namespace prefix is used without its xmlns declaration'],
];

export function plainXmlMessage(raw: string): string {
  const message = raw
    .replace(/\s*@#\[line:\d+,col:\d+\]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  for (const [pattern, plain] of PLAIN_MESSAGES) {
    const m = pattern.exec(message);
    if (m) return plain(m);
  }
  // A wording not in the table: still one sentence, the parser's words quoted rather than passed off as ours.
  return `the XML is not well-formed here (the parser says: ${message.replace(/^(?:\w+ )*Error: /, '')})`;
}

/** The attribute `name` of `el`, if given. */
export function attribute(el: XmlElement, name: string): XmlAttribute | undefined {
  return el.attributes.find((a) => a.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

function convert(node: DomElement, parent: XmlElement | undefined): XmlElement {
  const attributes: XmlAttribute[] = [];
  for (let i = 0; i < node.attributes.length; i++) {
    const a = node.attributes.item(i)!;
    attributes.push({ name: a.name, value: a.value, line: lineOf(a) ?? lineOf(node) ?? 1 });
  }
  const children: XmlElement[] = [];
  const element: { -readonly [K in keyof XmlElement]: XmlElement[K] } = {
    name: node.nodeName,
    line: lineOf(node) ?? 1,
    attributes,
    children,
    text: '',
    parent,
  };
  for (let child: DomNode | null = node.firstChild; child; child = child.nextSibling) {
    if (child.nodeType === ELEMENT_NODE) children.push(convert(child as DomElement, element));
    else if (child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE)
      element.text += child.nodeValue ?? '';
  }
  return element;
}

function lineOf(node: DomNode): number | undefined {
  const line = (node as { lineNumber?: number }).lineNumber;
  return typeof line === 'number' && line > 0 ? line : undefined;
}

function lineOfParseError(err: unknown): number | undefined {
  const line = (err as { locator?: { lineNumber?: number } }).locator?.lineNumber;
  return typeof line === 'number' ? line : undefined;
}

/** Removes an XML declaration (it may only stand first), keeping its newlines so line numbers do not move. */
function stripDeclaration(text: string): string {
  return text.replace(/^\s*<\?xml[\s\S]*?\?>/, (decl) => decl.replace(/[^\n]/g, ' '));
}

/**
 * Escapes the XML-special characters inside every `@(...)` and `@{...}` policy expression (outside comments and
 * CDATA), so that APIM's lenient syntax parses. Entities the author already wrote are kept as they are. Exported
 * for tests.
 */
export function protectExpressions(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('<!--', i) || text.startsWith('<![CDATA[', i)) {
      const close = text.startsWith('<!--', i) ? '-->' : ']]>';
      const end = text.indexOf(close, i + 4);
      const stop = end === -1 ? text.length : end + close.length;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    if (text[i] === '@' && (text[i + 1] === '(' || text[i + 1] === '{')) {
      const end = expressionEnd(text, i + 1);
      if (end !== -1) {
        out += escapeExpression(text.slice(i, end));
        i = end;
        continue;
      }
    }
    out += text[i];
    i++;
  }
  return out;
}

/** The index just past the bracket that closes the one at `open`, skipping C# string and char literals; -1 if none. */
function expressionEnd(text: string, open: number): number {
  const opener = text[open]!;
  const closer = opener === '(' ? ')' : '}';
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      i = text[i - 1] === '@' ? verbatimStringEnd(text, i) : quotedEnd(text, i, '"');
      if (i === -1) return -1;
    } else if (c === "'") {
      i = quotedEnd(text, i, "'");
      if (i === -1) return -1;
    } else if (c === opener) depth++;
    else if (c === closer && --depth === 0) return i + 1;
  }
  return -1;
}

function quotedEnd(text: string, start: number, quote: string): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
    else if (text[i] === '\n' && quote === "'") return -1;
  }
  return -1;
}

function verbatimStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') i++;
      else return i;
    }
  }
  return -1;
}

function escapeExpression(expression: string): string {
  return expression
    .replace(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
