import type { Listing } from './listing.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/**
 * The plain listing (works without JavaScript, like Galène's): a table of files with download links and, for
 * a user who may delete, a delete button each. When the client bundle is there, its recordings script turns the page into the live
 * view (job progress, replay); the table stays the fallback.
 */
export function listingHtml(listing: Listing, opts: { clientScript: boolean }): string {
  const title = `Recordings of ${listing.displayName || listing.group}`;
  const rows = listing.files
    .map((f) => {
      const href = encodeURIComponent(f.name);
      return (
        `<tr><td><a href="${href}">${escapeHtml(f.name)}</a></td>` +
        `<td>${escapeHtml(formatSize(f.size))}</td>` +
        `<td><time datetime="${escapeHtml(f.mtime)}">${escapeHtml(f.mtime.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time></td>` +
        (listing.mayDelete === false
          ? '</tr>'
          : `<td><form method="post" action="./"><input type="hidden" name="q" value="delete">` +
            `<input type="hidden" name="filename" value="${escapeHtml(f.name)}">` +
            `<button type="submit" aria-label="Delete ${escapeHtml(f.name)}">Delete</button></form></td></tr>`)
      );
    })
    .join('\n');
  const body =
    listing.files.length === 0
      ? '<p class="empty">No recordings.</p>'
      : `<table class="recording-files"><thead><tr><th scope="col">File</th><th scope="col">Size</th>` +
        `<th scope="col">Modified</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>\n` +
        `<tbody>\n${rows}\n</tbody></table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/client/app.css">
${opts.clientScript ? '<link rel="stylesheet" href="/client/recordings.css">\n<script type="module" src="/client/recordings.js"></script>\n' : ''}</head>
<body>
<div id="app" data-group="${escapeHtml(listing.group)}">
<header><h1>${escapeHtml(title)}</h1></header>
<main class="recordings-plain">
${body}
</main>
</div>
</body>
</html>
`;
}
