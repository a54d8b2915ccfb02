"""The page's own JavaScript: following citations, copying answers, scrolling the viewer.

Gradio's Chatbot renders messages as sanitized HTML (no ``data-*`` attributes,
no scripts), so links carry the passage's chunk id in their ``href``
(``#nqa-passage:<id>``) and the finished answer's sources block carries the copy
text in a hidden ``<code class="nqa-copy">`` element. :data:`APP_HEAD` goes into
the page's ``<head>`` (``launch(head=...)``); :data:`SCROLL_TO_PASSAGE_JS` runs
after the viewer has opened.
"""

#: Page script: a citation or a source's title opens the viewer (through the
#: hidden box and button below the page); an answer's copy button copies the
#: answer with its citations (the sources block carries that text, hidden)
#: instead of the message's raw HTML; Escape closes the viewer.
APP_HEAD = """
<script>
(() => {
  if (window.__nqaPage) return;
  window.__nqaPage = true;
  const PREFIX = "#nqa-passage:";
  function openPassage(ref) {
    const box = document.querySelector("#nqa-viewer-ref textarea, #nqa-viewer-ref input");
    const go = document.querySelector("#nqa-viewer-go");
    if (!box || !go) return;
    box.value = ref;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    go.click();
  }
  function messageRow(panel) {
    let row = panel.closest(".message-row");
    for (let el = panel.previousElementSibling; !row && el; el = el.previousElementSibling) {
      if (el.classList.contains("message-row")) row = el;
    }
    return row;
  }
  async function writeText(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "absolute";
      area.style.left = "-999999px";
      document.body.prepend(area);
      area.select();
      try { document.execCommand("copy"); } finally { area.remove(); }
    }
  }
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const link = target.closest("a.nqa-cite, a.nqa-open");
    if (link) {
      const href = link.getAttribute("href") || "";
      if (!href.startsWith(PREFIX)) return;
      event.preventDefault();
      event.stopPropagation();
      openPassage(href);
      return;
    }
    const button = target.closest("#nqa-chat .message-buttons button");
    // Only the copy button: the 👍/👎 buttons beside it must reach Gradio.
    const label = button ? (button.getAttribute("aria-label") || button.title || "") : "";
    if (/like|赞|踩|喜欢/i.test(label)) return;
    const row = button && messageRow(button.closest(".message-buttons"));
    if (!row || !row.querySelector(".nqa-sources")) return;
    const copy = row.querySelector(".nqa-copy");
    const answer = row.querySelector("[data-testid='bot']");
    const text = copy ? copy.textContent : (answer ? answer.innerText : "");
    event.preventDefault();
    event.stopImmediatePropagation();
    writeText(text).then(() => {
      button.classList.add("nqa-copied");
      setTimeout(() => button.classList.remove("nqa-copied"), 1500);
    });
  }, true);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") document.querySelector("#nqa-viewer-close")?.click();
  });
})();
</script>
"""

#: After the viewer opens: scroll its panel to the highlight (on the page image, else the mark).
SCROLL_TO_PASSAGE_JS = """
() => {
  const go = () => {
    const panel = document.querySelector("#nqa-viewer");
    if (!panel) return;
    const at = panel.querySelector(".nqa-at");
    const img = panel.querySelector("#nqa-viewer-page img");
    const mark = panel.querySelector("mark.nqa-mark");
    const offset = (el) => el.getBoundingClientRect().top - panel.getBoundingClientRect().top
      + panel.scrollTop;
    let top = 0;
    if (at && img) {
      if (!img.complete) { img.addEventListener("load", go, { once: true }); return; }
      top = offset(img) + parseFloat(at.textContent) * img.clientHeight;
    } else if (mark) {
      top = offset(mark);
    }
    panel.scrollTop = Math.max(0, top - panel.clientHeight / 4);
  };
  setTimeout(go, 60);
}
"""
