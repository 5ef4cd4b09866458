// Light and dark themes, remembered in this browser.
const root = document.documentElement;
const saved = localStorage.getItem("ai-prism-theme");
if (saved) root.dataset.theme = saved;

document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.getElementById("theme-toggle");
  if (!toggle) return;
  toggle.addEventListener("click", () => {
    const next = root.dataset.theme === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    localStorage.setItem("ai-prism-theme", next);
  });
});
