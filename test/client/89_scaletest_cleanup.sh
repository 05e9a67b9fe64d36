#!/usr/bin/env bash
# scaletest cleanup when removals fail: it prints what it removed and what is
# left, by name, as the Coder API really has it, and exits 1 while anything
# is left; run again, it removes the rest and exits 0.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --fail-delete 0.5 --build-time 0 --agent-delay 0

# names KIND: the scaletest workspaces or users the stand-in still has, sorted
names() {
  case $1 in
    workspace) api workspaces | python3 -c 'import json,sys; [print(w["name"]) for w in json.load(sys.stdin)["workspaces"] if w["name"].startswith("scaletest-")]' ;;
    user) api users | python3 -c 'import json,sys; [print(u["username"]) for u in json.load(sys.stdin)["users"] if u["email"].endswith("@scaletest.local")]' ;;
  esac | sort
}
# printed KIND PREFIX: the names cleanup printed after PREFIX ("removed " or "  "), sorted
printed() { sed -n "s/^$2$1 //p" "$T/out" | sort; }

rc=0
st -t docker -c 8 --concurrency 0 --no-cleanup --label keep >"$T/st.out" 2>"$T/st.err" || rc=$?
check "8 workspaces and 8 users to remove" "0 8 8" "$rc $(leftovers)"
names workspace >"$T/ws.before"; names user >"$T/users.before"

rounds=0 partial=0
while [ $rounds -lt 20 ]; do
  rounds=$((rounds + 1))
  rc=0
  "$CS" scaletest cleanup --token-file "$TOKEN_FILE" --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
  names workspace >"$T/ws.after"; names user >"$T/users.after"
  lws=$(wc -l <"$T/ws.after") lusers=$(wc -l <"$T/users.after")
  rws=$(comm -23 "$T/ws.before" "$T/ws.after" | wc -l) rusers=$(comm -23 "$T/users.before" "$T/users.after" | wc -l)
  r="round $rounds ($lws workspaces, $lusers users left)"
  check "$r: the workspaces printed as removed are the ones gone" "$(comm -23 "$T/ws.before" "$T/ws.after")" "$(printed workspace 'removed ')"
  check "$r: the users printed as removed are the ones gone" "$(comm -23 "$T/users.before" "$T/users.after")" "$(printed user 'removed ')"
  check "$r: the summary counts what was removed" \
    "Removed $rws of $(wc -l <"$T/ws.before") workspace$([ "$(wc -l <"$T/ws.before")" = 1 ] || echo s) and $rusers of $(wc -l <"$T/users.before") user$([ "$(wc -l <"$T/users.before")" = 1 ] || echo s)." \
    "$(grep '^Removed ' "$T/out")"
  check "$r: the workspaces printed as left are the ones the API has" "$(cat "$T/ws.after")" "$(printed workspace '  ')"
  check "$r: the users printed as left are the ones the API has" "$(cat "$T/users.after")" "$(printed user '  ')"
  if [ "$lws" -gt 0 ] || [ "$lusers" -gt 0 ]; then
    partial=$((partial + 1))
    check "$r: says how much is left" \
      "Left: $lws workspace$([ "$lws" = 1 ] || echo s) and $lusers user$([ "$lusers" = 1 ] || echo s):" "$(grep '^Left: ' "$T/out")"
    check "$r: exit 1 while anything is left" 1 $rc
    check "$r: says to run it again" 1 "$(grep -c 'are left; run it again once the cause above is fixed' "$T/err")"
  else
    check "$r: says nothing is left" "Nothing is left." "$(tail -1 "$T/out")"
    check "$r: exit 0 once nothing is left" 0 $rc
    break
  fi
  mv "$T/ws.after" "$T/ws.before"; mv "$T/users.after" "$T/users.before"
done
echo "# $rounds rounds, $partial of them left something"
[ $partial -gt 0 ] && echo "  ok - a removal failed at least once (--fail-delete 0.5)" || { echo "  not ok - no removal failed"; fails=$((fails + 1)); }
check "in the end nothing is left" "0 0" "$(leftovers)"
done_testing
