// Light and dark themes, remembered in this browser (the system's preference until chosen).
const KEY = "ai-prism-theme";
const root = document.documentElement;

function current() {
  return root.dataset.theme || (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
}

function apply(theme) {
  root.dataset.theme = theme;
  const toggle = document.getElementById("theme-toggle");
  if (toggle) {
    toggle.setAttribute("aria-pressed", String(theme === "dark"));
  }
}

const saved = localStorage.getItem(KEY);
if (saved === "dark" || saved === "light") root.dataset.theme = saved;

function bind() {
  apply(current());
  const toggle = document.getElementById("theme-toggle");
  if (!toggle) return;
  toggle.addEventListener("click", () => {
    const next = current() === "dark" ? "light" : "dark";
    localStorage.setItem(KEY, next);
    apply(next);
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bind);
else bind();
