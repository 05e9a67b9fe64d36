#!/usr/bin/env bash
# Listing as Coder's scale-test cleanup pages it: 250 workspaces and 250
# users, 100 a page to an empty page, coderd's search queries (quoted
# owner:/name:/template: terms, name as a substring, bare words, coderd's
# 400s) and GET /deployment/config.
source "$(dirname "$0")/standin/lib.sh"
standin_start P --build-time 0 --agent-delay 0 --template extra
python3 "$STANDIN_HELPERS/paging_test.py" "$P_URL" "$P_TOKEN"
