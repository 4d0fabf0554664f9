"""Formulas in lesson bodies, typeset on the server with KaTeX.

Pure module (never Django). A lesson writes ``$...$`` inside a sentence and
``$$...$$`` as a paragraph of its own (TeX, as in Jupyter). Before Markdown runs,
``extract`` swaps every formula outside code for a placeholder word (so Markdown
never sees TeX's ``_``, ``*`` or ``|``); ``render`` typesets them all with KaTeX
(npm ``katex``, run by ``node`` in one process per batch, remembered per process);
``restore`` puts the KaTeX markup back after the sanitiser has run.

KaTeX positions glyphs with ``style="..."`` attributes, which the portal's
Content-Security-Policy (``style-src 'self'``) forbids in markup. ``styles_to_classes``
turns each distinct style into a class (``kx-<hash>``) whose rule goes into a
stylesheet served from the portal's own origin: the page looks the same, with no
inline style and no script.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from portal.lib.errors import BadInput

PLACEHOLDER = re.compile(r"KXMATH(\d+)X")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# Pandoc's rule: no space just inside the dollars, no digit right after; nor a
# Latin letter on either side (a Korean particle may follow: ``$x$는``).
INLINE = re.compile(
    r"(?<![\\$0-9A-Za-z])\$(?=[^\s$])([^$\n]*?[^\s\\$])\$(?![$0-9A-Za-z])"
)
STYLE_ATTRIBUTE = re.compile(r'<([a-z]+)([^<>]*?) style="([^"]*)"([^<>]*)>')
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
TIMEOUT_S = 60

# Reads [{"tex": ..., "display": ...}, ...] on stdin, writes [{"html"} | {"error"}].
NODE_SCRIPT = """
const katex = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map(({ tex, display }) => {
    try {
      return { html: katex.renderToString(tex, {
        displayMode: display, output: "htmlAndMathml", throwOnError: true,
        trust: false, strict: "error" }) };
    } catch (error) {
      return { error: String(error.message || error) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
"""


class MathError(BadInput):
    """A formula is not valid TeX for KaTeX, or KaTeX cannot be run."""


class KatexUnavailable(MathError):
    """KaTeX is not installed, or node cannot run it: no formula is wrong."""


@dataclass(frozen=True)
class Formula:
    tex: str
    display: bool


def _placeholder(index: int) -> str:
    return f"KXMATH{index}X"


def _inline(line: str, formulas: list[Formula]) -> str:
    """Replace ``$...$`` in one line, leaving code spans alone."""

    def swap(match: re.Match[str]) -> str:
        formulas.append(Formula(match[1].strip(), display=False))
        return _placeholder(len(formulas) - 1)

    parts: list[str] = []
    position = 0
    for span in CODE_SPAN.finditer(line):
        parts.append(INLINE.sub(swap, line[position : span.start()]))
        parts.append(span[0])
        position = span.end()
    parts.append(INLINE.sub(swap, line[position:]))
    return "".join(parts)


def extract(markdown: str) -> tuple[str, list[Formula]]:
    """Swap each formula outside code for a placeholder; return both.

    >>> text, found = extract("Area $a^2$, `$x$` stays.\\n$$\\nE = mc^2\\n$$\\n")
    >>> text
    'Area KXMATH0X, `$x$` stays.\\nKXMATH1X\\n'
    >>> [(formula.tex, formula.display) for formula in found]
    [('a^2', False), ('E = mc^2', True)]
    """
    formulas: list[Formula] = []
    out: list[str] = []
    lines = markdown.split("\n")
    in_fence = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
        elif in_fence:
            out.append(line)
        elif line.strip().startswith("$$"):
            indent = line[: len(line) - len(line.lstrip())]
            block = [line.strip()[2:]]
            while not block[-1].rstrip().endswith("$$"):
                index += 1
                if index == len(lines):
                    raise MathError(f"A '$$' formula is never closed: {line.strip()!r}")
                block.append(lines[index].strip())
            tex = "\n".join(block).rstrip()[:-2].strip()
            formulas.append(Formula(tex, display=True))
            out.append(indent + _placeholder(len(formulas) - 1))
        else:
            out.append(_inline(line, formulas))
        index += 1
    return "\n".join(out), formulas


_memo: dict[Formula, str] = {}


def render(
    formulas: Iterable[Formula], *, katex: Path, node: str = "node"
) -> dict[Formula, str]:
    """Typeset ``formulas`` with KaTeX (the package folder ``katex``): formula → HTML.

    One ``node`` process for all formulas not typeset before in this process. A
    formula KaTeX rejects raises ``MathError`` naming it; so does a missing node or
    KaTeX (``make install`` installs KaTeX from package-lock.json).
    """
    wanted = list(dict.fromkeys(formulas))
    missing = [formula for formula in wanted if formula not in _memo]
    if missing:
        if not (katex / "package.json").exists():
            raise KatexUnavailable(
                f"KaTeX is not installed in {katex} (run `make install`)."
            )
        payload = json.dumps([{"tex": f.tex, "display": f.display} for f in missing])
        try:
            result = subprocess.run(
                [node, "-e", NODE_SCRIPT, str(katex.resolve())],
                input=payload,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise KatexUnavailable(f"Could not run KaTeX with {node!r}: {exc}") from exc
        for formula, item in zip(missing, json.loads(result.stdout), strict=True):
            if "error" in item:
                raise MathError(f"Formula {formula.tex!r}: {item['error']}")
            _memo[formula] = item["html"]
    return {formula: _memo[formula] for formula in wanted}


def source_fallback(formula: Formula) -> str:
    """The formula's TeX as code, when KaTeX cannot run (never a bare ``$``)."""
    return f'<code class="math-source">{html_lib.escape(formula.tex)}</code>'


def restore(html: str, formulas: list[Formula], typeset: Mapping[Formula, str]) -> str:
    """Put each formula's markup where its placeholder is; a display formula
    alone in a paragraph replaces the paragraph."""

    def markup(index: int) -> str:
        formula = formulas[index]
        inner = typeset.get(formula) or source_fallback(formula)
        tag = "div" if formula.display else "span"
        kind = "math-display" if formula.display else "math-inline"
        return f'<{tag} class="{kind}">{inner}</{tag}>'

    html = re.sub(r"<p>\s*KXMATH(\d+)X\s*</p>", lambda m: markup(int(m[1])), html)
    return PLACEHOLDER.sub(lambda m: markup(int(m[1])), html)


def style_class(style: str) -> str:
    return "kx-" + hashlib.sha1(style.encode()).hexdigest()[:10]


def styles_to_classes(html: str) -> tuple[str, dict[str, str]]:
    """Move every ``style="..."`` into a class; return the HTML and class → style.

    >>> styles_to_classes('<span class="strut" style="height:1em;"></span>')
    ('<span class="strut kx-02c628e25a"></span>', {'kx-02c628e25a': 'height:1em;'})
    """
    styles: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        tag, before, style, after = match.groups()
        name = style_class(style)
        styles[name] = html_lib.unescape(style)
        attributes = before + after
        if CLASS_ATTRIBUTE.search(attributes):
            attributes = CLASS_ATTRIBUTE.sub(
                lambda c: f'class="{c[1]} {name}"', attributes, count=1
            )
        else:
            attributes += f' class="{name}"'
        return f"<{tag}{attributes}>"

    return STYLE_ATTRIBUTE.sub(swap, html), styles


def stylesheet(styles: Mapping[str, str]) -> str:
    """CSS rules for ``styles_to_classes``'s classes; ``!important`` because they
    stand for inline styles, which beat every KaTeX rule."""
    rules = []
    for name, style in sorted(styles.items()):
        declarations = [d.strip() for d in style.split(";") if d.strip()]
        body = ";".join(f"{d} !important" for d in declarations)
        rules.append(f".katex .{name}{{{body}}}")
    return "\n".join(rules) + "\n"
