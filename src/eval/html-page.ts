// The page frame shared by the reports clp writes: a self-contained HTML document that loads
// nothing from the network.

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * Wraps `body` (HTML, inserted as it is) in a complete page titled `title` (plain text, escaped
 * here) with `style` as its only style sheet. The content security policy allows inline styles and
 * data: images only.
 */
export function htmlPage(title: string, style: string, body: string): string {
  const escaped = escapeHtml(title);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escaped}</title>
<style>${style}</style>
</head>
<body>
<h1>${escaped}</h1>
${body}
</body>
</html>
`;
}
