/**
 * HTML built only through the `html` tag: every interpolated value is escaped unless it is
 * already Html (made by this tag). Values on these pages come from WeChat's notifications and
 * from whoever can POST to the notify URL, so nothing reaches a page unescaped by accident.
 *
 * html`<td>${'<script>'}</td>`.text => '<td>&lt;script&gt;</td>'
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** escapeHtml('a"<b>') => 'a&quot;&lt;b&gt;'; safe in text and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/**
 * A same-origin URL from path segments and a query, each part percent-encoded:
 * href(['orders', '10000100', 'a/b'], { x: '1' }) => '/orders/10000100/a%2Fb?x=1'
 */
export function href(segments: readonly string[], query: Readonly<Record<string, string | undefined>> = {}): string {
  const path = '/' + segments.map(encodeURIComponent).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
