/**
 * The XML body of a v2 API request: one flat `<xml>` of the fields, every value escaped. (The
 * replies are read by src/xml/parse-flat-xml.ts, with the same rules as notifications.)
 *
 * toRequestXml({ appid: 'wx1', out_trade_no: 'a&b' }) => '<xml><appid>wx1</appid><out_trade_no>a&amp;b</out_trade_no></xml>'
 */
export function toRequestXml(fields: Readonly<Record<string, string>>): string {
  const escape = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => `<${k}>${escape(v)}</${k}>`)
    .join('')}</xml>`;
}
