// What every SVG this repository writes needs (charts in bench/, the architecture diagram in scripts/): text escaped
// for XML (attributes included), and coordinates with one decimal (stable output, small files).
export const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const coord = (v: number): string => (Math.round(v * 10) / 10).toString();
