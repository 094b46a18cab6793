/** The page served until Lectern's own web client lands (or when --static names no client). */
export function placeholderPage(title: string): string {
  const safe = title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${safe}</title></head>
<body><h1>${safe}</h1>
<p>This Lectern server speaks Galène's protocol v2 at <code>/ws</code>. Its own web client is not installed yet;
start the server with <code>--static</code> pointing at a Galène client folder to use that client.</p>
</body></html>
`;
}
