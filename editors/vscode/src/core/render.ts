/** Text as HTML text: nothing the model writes can become markup or script in the webview. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/**
 * The little Markdown answers use, as HTML: fenced code, headings, inline code, bold, paragraphs.
 * Everything is escaped first; a fence still open (the answer is streaming) shows as code.
 */
export function markdownToHtml(markdown: string): string {
  const out: string[] = [];
  const parts = markdown.split(/^```[^\n]*\n?/m);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      out.push(`<pre><code>${escapeHtml(part.replace(/\n$/, ''))}</code></pre>`);
      return;
    }
    for (const block of part.split(/\n{2,}/)) {
      if (!block.trim()) continue;
      const heading = /^(#{1,6}) (.*)$/.exec(block.trim());
      const inline = (t: string): string =>
        escapeHtml(t)
          .replace(/`([^`]+)`/g, '<code>$1</code>')
          .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
          .replace(/\n/g, '<br>');
      if (heading) out.push(`<h${heading[1].length}>${inline(heading[2])}</h${heading[1].length}>`);
      else out.push(`<p>${inline(block)}</p>`);
    }
  });
  return out.join('\n');
}

/** A whole webview page: a strict Content-Security-Policy (no script but the page's own, by nonce). */
export function page(title: string, body: string, nonce: string, script = ''): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<title>${escapeHtml(title)}</title>
<style>body{font-family:var(--vscode-font-family);color:var(--vscode-foreground)} pre{background:var(--vscode-textCodeBlock-background);padding:.5em;overflow:auto}
.meta{opacity:.7;font-size:.9em} .you{font-weight:bold;margin-top:1em} textarea{width:100%}</style>
</head><body>${body}${script ? `<script nonce="${nonce}">${script}</script>` : ''}</body></html>`;
}
