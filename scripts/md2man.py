#!/usr/bin/python3
"""Man pages from the docs, so the two never disagree: gatehouse(8) from the README's commands
and docs/operations.md, gatehouse.yaml(5) from docs/configuration.md.

    scripts/md2man.py OUT_DIR

Standard library only, and only the Markdown the docs use: headings, paragraphs, bullet lists,
fenced code, tables (each row becomes a tagged paragraph, which renders at any terminal width
where a tbl table would not), inline code, bold, italics and links (the link text is kept).
The date on the pages is SOURCE_DATE_EPOCH's, so two builds of a commit write the same bytes."""
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def escape(text):
    """Roff-safe text: backslashes as \\e, hyphens as minus signs (options stay copyable),
    anything beyond ASCII as a named Unicode character, so groff needs no input encoding."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)


def inline(text):
    """Inline Markdown to roff font changes, on escaped text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)  # links: their text
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for p in parts:
        if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
            out.append("\\fB" + escape(p[1:-1].replace("\\|", "|")) + "\\fR")
            continue
        p = escape(p.replace("\\|", "|"))
        p = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", p)
        out.append(p)
    return "".join(out)


def line_safe(text):
    """A text line never starts with a control character or is read as a blank line's space."""
    text = text.strip()
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def cells(row):
    row = row.strip().strip("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)]


def table(rows):
    """A Markdown table as tagged paragraphs: the first cell is the tag, the others follow with
    their column names."""
    head = cells(rows[0])
    out = []
    for r in rows[2:]:
        c = cells(r)
        out.append(".TP")
        out.append(line_safe(inline(c[0])))
        rest = []
        for name, value in zip(head[1:], c[1:]):
            if name.lower() in ("meaning", "what it does", ""):
                rest.append(inline(value))
            else:
                value = inline(value)
                rest.append(inline(name) + ": " + value + ("" if value.endswith(".") else "."))
        out.append(line_safe(" ".join(rest)))
    return out


def convert(markdown, skip_title=True):
    """Markdown to the body of a man page (sections .SH and .SS)."""
    out = []
    lines = markdown.splitlines()
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.append(line_safe(inline(" ".join(s.strip() for s in para))))
            para.clear()

    while i < len(lines):
        ln = lines[i]
        if ln.startswith("```"):
            flush()
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append("\\&" + escape(lines[i]))
                i += 1
            out += [".fi", ".RE"]
        elif ln.startswith("#"):
            flush()
            level = len(ln) - len(ln.lstrip("#"))
            title = ln.lstrip("#").strip()
            if level == 1 and skip_title:
                pass
            elif level <= 2:
                out.append('.SH "%s"' % inline(title.upper()).replace('"', ""))
            else:
                out.append('.SS "%s"' % inline(title).replace('"', ""))
        elif ln.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            out += table(rows)
            continue
        elif re.match(r"^\s*([-*]|\d+\.) ", ln):
            flush()
            item = [re.sub(r"^\s*([-*]|\d+\.) ", "", ln)]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", line_safe(inline(" ".join(item)))]
            continue
        elif not ln.strip():
            flush()
        else:
            para.append(ln)
        i += 1
    flush()
    return out


def header(name, section, title):
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or 0)
    date = time.strftime("%Y-%m-%d", time.gmtime(epoch))
    with open(os.path.join(ROOT, "VERSION")) as f:
        version = f.read().strip()
    return ['.TH "%s" "%s" "%s" "Gatehouse %s" "%s"' % (name.upper(), section, date, version, title)]


def section_of(markdown, heading):
    """The text under a ## heading, up to the next ## heading."""
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(heading), markdown, re.M | re.S)
    return m.group(1) if m else ""


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def gatehouse_8():
    readme = read("README.md")
    intro = readme.split("\n\n")[1]  # the README's first paragraph: what Gatehouse is
    out = header("gatehouse", "8", "System Administration")
    out += [".SH NAME", "gatehouse \\- API security gateway", ".SH SYNOPSIS"]
    for verb in ("run [\\-c] FILE", "check [\\-c] FILE", "audit \\-c FILE [options]",
                 "token keygen|jwks|mint [options]", "reload|stop|status [\\-c FILE | \\-\\-admin ADDR]",
                 "version [\\-\\-verbose]"):
        out += [".B gatehouse", verb, ".br"]
    out += [".SH DESCRIPTION", line_safe(inline(" ".join(intro.split())))]
    out += [".SH COMMANDS"] + convert(section_of(readme, "Commands"))
    out += convert(read("docs/operations.md"))
    out += [".SH FILES", ".TP", ".I /etc/gatehouse/gatehouse.yaml",
            "the configuration of the packaged service (see \\fBgatehouse.yaml\\fR(5))",
            ".TP", ".I /lib/systemd/system/gatehouse.service", "the systemd unit",
            ".SH SEE ALSO", "\\fBgatehouse.yaml\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1)"]
    return out


def gatehouse_yaml_5():
    out = header("gatehouse.yaml", "5", "File Formats")
    out += [".SH NAME", "gatehouse.yaml \\- Gatehouse configuration file", ".SH DESCRIPTION"]
    out += convert(read("docs/configuration.md"))
    out += [".SH SEE ALSO", "\\fBgatehouse\\fR(8)"]
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/md2man.py OUT_DIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, page in (("gatehouse.8", gatehouse_8()), ("gatehouse.yaml.5", gatehouse_yaml_5())):
        with open(os.path.join(sys.argv[1], name), "w") as f:
            f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
