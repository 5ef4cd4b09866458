// The help page: bring the first-run tour back.
import { TOUR_KEY } from "./tour.js";

document.getElementById("tour-reset").addEventListener("click", () => {
  localStorage.removeItem(TOUR_KEY);
  document.getElementById("tour-reset-done").textContent = "The tour will show the next time you open a document.";
});
