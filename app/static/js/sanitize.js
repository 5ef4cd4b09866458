// The chat reply's HTML comes from the server's safe Markdown renderer (raw HTML escaped, no images).
// It is still copied through an allow-list here, so a renderer bug cannot run script in the page.
const TAGS = new Set(["P", "BR", "HR", "EM", "STRONG", "CODE", "PRE", "UL", "OL", "LI", "BLOCKQUOTE", "A",
  "H1", "H2", "H3", "H4", "H5", "H6", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "DEL", "S"]);

function copy(source, target) {
  for (const node of source.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      target.append(document.createTextNode(node.textContent));
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      if (!TAGS.has(node.tagName)) {
        copy(node, target); // keep the text of an unknown element, drop the element
        continue;
      }
      const clean = document.createElement(node.tagName.toLowerCase());
      if (node.tagName === "A") {
        const href = node.getAttribute("href") || "";
        if (/^(https?:|mailto:)/i.test(href)) clean.setAttribute("href", href);
        clean.setAttribute("rel", "noopener noreferrer nofollow");
        clean.setAttribute("target", "_blank");
      }
      copy(node, clean);
      target.append(clean);
    }
  }
}

export function safeFragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // parsed inert: nothing in a template runs or loads
  const fragment = document.createDocumentFragment();
  copy(template.content, fragment);
  return fragment;
}
