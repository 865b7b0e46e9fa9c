#!/usr/bin/env bash
# report.t — `questlog report`: the HTML is well-formed (every tag closed in
# order, checked with Python's html.parser), self-contained (no scripts, no
# external URLs), carries its SVG charts, and its key numbers match DuckDB's
# over the same files; the Markdown variant has the same sections.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/query_lake.sh"

LAKE="$tmpdir/lake"
make_lake "$LAKE" 20000 && make_evolving "$LAKE"
ok $? "DuckDB wrote the test lake"

"$QL" report --lake "$LAKE" -o "$tmpdir/report.html" 2>/dev/null
ok $? "report written"
python3 - "$tmpdir/report.html" <<'PY'
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source", "area", "base", "wbr"}
# SVG elements that may be self-closing (<rect/>): handled by handle_startendtag.
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.count = [], [], {}
    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        for k, v in attrs:
            if v and ("http://" in v or "https://" in v) and k != "xmlns":
                self.errors.append("external reference %s=%s" % (k, v))
        if tag not in VOID: self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
        else:
            self.stack.pop()
text = open(sys.argv[1], encoding="utf-8").read()
p = P(); p.feed(text); p.close()
if p.stack: p.errors.append("unclosed: %s" % p.stack)
if not text.startswith("<!DOCTYPE html>"): p.errors.append("no doctype")
if p.count.get("script"): p.errors.append("has a script")
if p.count.get("svg", 0) < 5: p.errors.append("expected 5 svg (pipeline + 4 charts), got %d" % p.count.get("svg", 0))
for e in p.errors: print("# " + e)
sys.exit(1 if p.errors else 0)
PY
ok $? "HTML well-formed, self-contained, 5 inline SVGs"

html="$(cat "$tmpdir/report.html")"
for s in "Events over time by type" "Top players by purchases" "Sword types" "Guild joins over time" "Lake tables" "Pipeline"; do
    case "$html" in *"$s"*) ok 0 "section: $s" ;; *) ok 1 "section: $s" ;; esac
done
num() { python3 -c "import sys; print(f'{int(sys.argv[1]):,}')" "$1"; }
val() { duck "$1" | python3 -c 'import json,sys; print(list(json.loads(sys.stdin.read()).values())[0])'; }
events="$(val "SELECT count(*) FROM read_parquet('$LAKE/extracted_events/*/*.parquet')")"
players="$(val "SELECT count(DISTINCT Host) FROM read_parquet('$LAKE/extracted_events/*/*.parquet')")"
gold="$(val "SELECT sum(price) FROM read_parquet('$LAKE/purchases/*/*.parquet')")"
top="$(val "SELECT Host FROM read_parquet('$LAKE/purchases/*/*.parquet') WHERE Host IS NOT NULL GROUP BY Host ORDER BY count(*) DESC, Host LIMIT 1")"
echo "$html" | grep -q "<div class=\"v\">$(num "$events")</div><div class=\"l\">events</div>"; ok $? "events KPI = DuckDB's count ($events)"
echo "$html" | grep -q "<div class=\"v\">$(num "$players")</div><div class=\"l\">players (Host)</div>"; ok $? "players KPI = DuckDB's distinct Host ($players)"
echo "$html" | grep -q "<div class=\"v\">$(num "$gold")</div><div class=\"l\">gold spent</div>"; ok $? "gold KPI = DuckDB's sum(price) ($gold)"
echo "$html" | grep -q "<title>$top: "; ok $? "top player bar: $top"
echo "$html" | grep -q ">_rejected</text>"; ok $? "pipeline shows _rejected"

"$QL" report --lake "$LAKE" --format md > "$tmpdir/report.md" 2>/dev/null
ok $? "markdown report"
grep -q "^## Sword types" "$tmpdir/report.md" && grep -q "^| extracted_events | $events |" "$tmpdir/report.md"
ok $? "markdown has the sections and table rows"

mkdir -p "$tmpdir/empty"
"$QL" report --lake "$tmpdir/empty" -o "$tmpdir/empty.html" 2>/dev/null && grep -q "No purchases yet" "$tmpdir/empty.html"
ok $? "an empty lake still gives a report"
"$QL" report --lake "$tmpdir/nope" -o "$tmpdir/x.html" 2>/dev/null; is $? 1 "missing lake exits 1"
"$QL" report --help | grep -q -- "--output"; ok $? "report --help"

done_testing
