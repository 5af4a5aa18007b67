// Forms a keyboard user can finish: after a failed submit focus goes to the
// error summary, whose links focus the field they name; add/remove row
// buttons (data-rows) work in place and keep focus. Without JavaScript the
// buttons post the form and the server re-renders it. (Copy buttons are
// console.js's.)
(() => {
	"use strict";

	// focusField focuses el, or the first control inside a group.
	const focusField = el => {
		if (!el) return;
		const c = el.matches("input, select, textarea, button") ? el : el.querySelector("input, select, textarea, button");
		(c || el).focus();
	};

	// renumber rewrites each row's data-tpl-* attributes: {i} is the row's
	// index, {n} its number from 1 (ids, labels, header_secret values).
	const renumber = box => {
		box.querySelectorAll(":scope > [data-row]").forEach((row, i) => {
			for (const el of [row, ...row.querySelectorAll("*")]) {
				for (const a of [...el.attributes]) {
					if (!a.name.startsWith("data-tpl-")) continue;
					el.setAttribute(a.name.slice(9), a.value.replaceAll("{i}", i).replaceAll("{n}", i + 1));
				}
			}
		});
	};

	const addRow = (box, after) => {
		const tpl = box.querySelector(":scope > template");
		const row = tpl.content.firstElementChild.cloneNode(true);
		box.insertBefore(row, after);
		renumber(box);
		focusField(row);
	};

	const removeRow = (box, row) => {
		const rows = [...box.querySelectorAll(":scope > [data-row]")];
		const next = rows[rows.indexOf(row) + 1] || rows[rows.indexOf(row) - 1];
		row.remove();
		renumber(box);
		focusField(next || box.querySelector("[data-add-row]"));
	};

	document.addEventListener("click", ev => {
		const link = ev.target.closest(".error-summary a[href^='#']");
		if (link) {
			const el = document.getElementById(link.getAttribute("href").slice(1));
			if (el) {
				ev.preventDefault();
				el.scrollIntoView({ block: "center" });
				focusField(el);
			}
			return;
		}
		const btn = ev.target.closest("[data-rows] [data-add-row], [data-rows] [data-remove-row]");
		if (!btn) return;
		ev.preventDefault();
		const box = btn.closest("[data-rows]");
		if (btn.hasAttribute("data-add-row")) addRow(box, btn);
		else removeRow(box, btn.closest("[data-row]"));
		// The preview listens for changes to the form.
		box.closest("form")?.dispatchEvent(new Event("change", { bubbles: true }));
	});

	const focusSummary = () => document.getElementById("error-summary")?.focus();
	if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusSummary);
	else focusSummary();
})();
