#!/usr/bin/env bash
# settings-doc.sh: rewrites the settings table of docs/SETTINGS.md (between the
# `<!-- settings:begin -->` and `<!-- settings:end -->` markers) from kezekd's own
# declarations (`kezekd --settings-doc`), so the docs cannot drift from the code.
# Usage: scripts/settings-doc.sh [KEZEKD]  (default .build/release/kezekd)
set -euo pipefail
cd "$(dirname "$0")/.."
kezekd=${1:-.build/release/kezekd}
table=$("$kezekd" --settings-doc)
python3 - "$table" <<'PY'
import re, sys
path = "docs/SETTINGS.md"
text = open(path).read()
begin, end = "<!-- settings:begin -->", "<!-- settings:end -->"
new = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + sys.argv[1] + "\n" + end, text, flags=re.S)
open(path, "w").write(new)
PY
echo "docs/SETTINGS.md: settings table rewritten"
