/** The page served when Lectern's web client has not been built (dist/client) and --static holds no client. */
export function placeholderPage(title: string): string {
  const safe = title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${safe}</title></head>
<body><h1>${safe}</h1>
<p>This Lectern server speaks Galène's protocol v2 at <code>/ws</code>, but its web client has not been built:
run <code>npm run build:client</code> (<code>npm start</code> does it), or start the server with <code>--static</code>
pointing at a Galène client folder.</p>
</body></html>
`;
}
