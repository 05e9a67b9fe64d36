#!/usr/bin/env bash
# scaletest create-workspaces reads its flags as Coder's tool does: every flag
# of Coder's also from its serpent variable (CODER_SCALETEST_*, CODER_RICH_*),
# a flag given wins, a bad value names the variable; --output and --parameter
# are serpent string arrays (comma-separated, the variable's values first);
# --output json to stdout; --rich-parameter-file read as parseParameterMapFile
# reads it, --parameter over it; --max-failures; the summary line on stderr.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 0 --agent-delay 0

# expect_exit NAME CODE MESSAGE-PART CMD...: CMD exits CODE and stderr says MESSAGE-PART
expect_exit() {
  local name=$1 code=$2 msg=$3 rc=0
  shift 3
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  check "$name: exit $code" "$code" "$rc"
  if grep -qF -- "$msg" "$T/err"; then echo "  ok - $name: says '$msg'"; else
    echo "  not ok - $name: stderr lacks '$msg':"; sed 's/^/    /' "$T/err"; fails=$((fails + 1)); fi
}
# param LABEL NAME: the stored value of parameter NAME of run LABEL
param() { q "SELECT parameters->>'$2' FROM coder_scale.run WHERE label = '$1'"; }
results() { q "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = '$1'"; }

# --- --help names the new flags and the variables
"$CS" scaletest --help >"$T/help"
for f in --rich-parameter-file --max-failures --quiet "--output FORMAT[:PATH]" CODER_SCALETEST_OUTPUTS CODER_RICH_PARAMETER_FILE \
    "Coder's own tool exits 1 for all of them"; do
  check "--help: $f" 1 "$(grep -cF -- "$f" "$T/help" | awk '{print ($1 > 0)}')"
done

# --- the variables, and a flag over them
rc=0; CODER_SCALETEST_TEMPLATE=docker CODER_SCALETEST_COUNT=2 st --label env >"$T/out" 2>"$T/err" || rc=$?
check "CODER_SCALETEST_TEMPLATE and _COUNT: exit 0" 0 $rc
check "... the template and count from them" "docker|2" "$(q "SELECT template, count FROM coder_scale.run WHERE label = 'env'")"
check "... noted in run.flags" "docker|2" "$(q "SELECT flags->>'template', flags->>'count' FROM coder_scale.run WHERE label = 'env'")"
rc=0; CODER_SCALETEST_COUNT=3 st -t docker --count 1 --label flagwins >"$T/out" 2>"$T/err" || rc=$?
check "a flag wins over its variable" "0 1" "$rc $(results flagwins)"
rc=0; HOMEBREW_CODER_SCALETEST_COUNT=2 st -t docker --label brew >"$T/out" 2>"$T/err" || rc=$?
check "HOMEBREW_ prefix, as serpent reads it" "0 2" "$rc $(results brew)"
rc=0; CODER_SCALETEST_NO_WAIT_FOR_AGENTS=T CODER_SCALETEST_CLEANUP_CONCURRENCY=0 CODER_SCALETEST_JOB_TIMEOUT=1m30s \
  st -t docker --label kinds >"$T/out" 2>"$T/err" || rc=$?
check "a bool (T, as Go's ParseBool), an int and a duration from variables" "0|0|00:01:30" \
  "$rc|$(q "SELECT cleanup_concurrency, job_timeout FROM coder_scale.run WHERE label = 'kinds'")"
check "... --no-wait-for-agents took effect" 1 "$(q "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id
  WHERE r.label = 'kinds' AND rr.logs LIKE '%Skipping agent connectivity check.%'")"
expect_exit "an empty variable is unset" 2 "--template: is required" env CODER_SCALETEST_TEMPLATE= "$CS" scaletest \
  create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB"
expect_exit "bad count in a variable" 2 'CODER_SCALETEST_COUNT "x": must be a whole number, 1 or more' \
  env CODER_SCALETEST_COUNT=x "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker
expect_exit "bad duration in a variable" 2 'CODER_SCALETEST_RUN_TIMEOUT "5minutes": not a Go duration' \
  env CODER_SCALETEST_RUN_TIMEOUT=5minutes "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker
expect_exit "bad bool in a variable" 2 'CODER_SCALETEST_NO_CLEANUP "maybe": expected true or false' \
  env CODER_SCALETEST_NO_CLEANUP=maybe "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker
expect_exit "bad variable, good flag: the flag does not hide it" 2 'CODER_SCALETEST_CONCURRENCY "-1"' \
  env CODER_SCALETEST_CONCURRENCY=-1 "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker --concurrency 2
expect_exit "WireGuard is refused, not ignored" 2 'CODER_SCALETEST_CONNECT_URL "http://127.0.0.1:4/": coder-scale makes no WireGuard connections' \
  env CODER_SCALETEST_CONNECT_URL=http://127.0.0.1:4/ "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker

# --- outputs: Coder's scaletestOutputFlags.parse
rc=0; st -t docker -c 2 --label json --output json --output "json:$T/r.json" >"$T/out" 2>"$T/err" || rc=$?
check "--output json: exit 0" 0 $rc
check "... stdout is the json, the same as the file's" "$(cat "$T/r.json")" "$(cat "$T/out")"
check "... and is Coder's json" "2 2" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total_runs"], len(d["runs"]))' "$T/out")"
check "... the summary line on stderr" "2 succeeded" "$(grep -E '^[0-9]+ succeeded' "$T/err")"
rc=0; st -t docker -c 1 --label text >"$T/out" 2>"$T/err" || rc=$?
check "no --output: text to stdout" "0 1" "$rc $(grep -c '^Test results:' "$T/out")"
check "... and nothing but Coder's text (no summary line)" "0 Avg." \
  "$(grep -cE '^[0-9]+ succeeded' "$T/out" || true) $(tail -n 1 "$T/out" | awk '{print $1}')"
rc=0; st -t docker -c 1 --label fileonly --output "text:$T/r.txt" >"$T/out" 2>"$T/err" || rc=$?
check "only a file output: nothing on stdout" "0 0 1" "$rc $(wc -c <"$T/out") $(grep -c '^Test results:' "$T/r.txt")"
rc=0; CODER_SCALETEST_OUTPUTS="json,text:$T/v.txt" st -t docker -c 1 --label outenv >"$T/out" 2>"$T/err" || rc=$?
check "CODER_SCALETEST_OUTPUTS split at commas: json to stdout, text to the file" "0 1 1" \
  "$rc $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_runs"])' "$T/out") $(grep -c '^Test results:' "$T/v.txt")"
rc=0; CODER_SCALETEST_OUTPUTS="json:$T/never.json" st -t docker -c 1 --label outreset --output '' >"$T/out" 2>"$T/err" || rc=$?
check "--output '' empties the list (serpent's StringArray): text to stdout, no file" "0 1 no" \
  "$rc $(grep -c '^Test results:' "$T/out") $([ -e "$T/never.json" ] && echo yes || echo no)"
expect_exit "two outputs to stdout" 2 "--output: multiple output flags specified for stdout" st -t docker --output text --output json
expect_exit "one from the variable, one from the flag" 2 "--output: multiple output flags specified for stdout" \
  env CODER_SCALETEST_OUTPUTS=json "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker --output text
expect_exit "invalid format, counted over the variable's and the flag's" 2 'invalid output format "html" in output flag 2' \
  env CODER_SCALETEST_OUTPUTS="json:$T/a.json,text:$T/b.txt" "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker --output html
expect_exit "invalid format from the variable names it" 2 'CODER_SCALETEST_OUTPUTS: invalid output format "xml" in output flag 0' \
  env CODER_SCALETEST_OUTPUTS=xml "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker

# --- --parameter: comma-separated as serpent's StringArray, the variable's first, later wins
rc=0; CODER_RICH_PARAMETER=cpu=4 st -t docker --label penv --parameter 'memory=8,"dotfiles_uri=https://x/a,b"' \
  >"$T/out" 2>"$T/err" || rc=$?
check "CODER_RICH_PARAMETER and two --parameter in one, a quoted comma kept" "0|4|8|https://x/a,b" \
  "$rc|$(param penv cpu)|$(param penv memory)|$(param penv dotfiles_uri)"
rc=0; CODER_RICH_PARAMETER=cpu=4 st -t docker --label pover --parameter cpu=5 --parameter cpu=6 >"$T/out" 2>"$T/err" || rc=$?
check "the same name: the last given wins (ParameterResolver)" "0|6" "$rc|$(param pover cpu)"
expect_exit "a quote inside a field" 2 '--parameter "dotfiles_uri=a"b": not comma-separated values' \
  st -t docker --parameter 'dotfiles_uri=a"b'
expect_exit "a field that is no NAME=VALUE" 2 "CODER_RICH_PARAMETER: expected NAME=VALUE" \
  env CODER_RICH_PARAMETER=cpu=2,novalue "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker

# --- --rich-parameter-file: parseParameterMapFile's values, --parameter over the file
cat >"$T/p.yaml" <<'EOF'
# Coder's own test file has quoted strings; ints, bools and lists as Go prints them
cpu: 3
memory: 0x10
region: "us"
dotfiles_uri: [a, 1, true, null, 2.5, {z: 1, b: "<&>"}]
EOF
rc=0; st -t docker --label pfile --rich-parameter-file "$T/p.yaml" --parameter memory=2 >"$T/out" 2>"$T/err" || rc=$?
check "file: an int, a hex int under a --parameter, a string, a list as Go's json" \
  '0|3|2|us|["a",1,true,null,2.5,{"b":"\u003c\u0026\u003e","z":1}]' \
  "$rc|$(param pfile cpu)|$(param pfile memory)|$(param pfile region)|$(param pfile dotfiles_uri)"
printf 'memory: 0x10\n' >"$T/q.yaml"
rc=0; CODER_RICH_PARAMETER_FILE=$T/q.yaml st -t docker --label pfenv >"$T/out" 2>"$T/err" || rc=$?
check "CODER_RICH_PARAMETER_FILE" "0|16" "$rc|$(param pfenv memory)"
expect_exit "no such file (Go's wording)" 2 \
  "--rich-parameter-file \"$T/none.yaml\": can't parse parameter map file: open $T/none.yaml: no such file or directory" \
  st -t docker --rich-parameter-file "$T/none.yaml"
expect_exit "a directory, from the variable" 2 "CODER_RICH_PARAMETER_FILE \"$T\": can't parse parameter map file: read $T: is a directory" \
  env CODER_RICH_PARAMETER_FILE="$T" "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --db "dbname=$DB" -t docker
# the invalid file of Coder's cli/parameter_internal_test.go, and its message
printf 'region = "bananas"\ndisk = "20"\n' >"$T/bad.yaml"
expect_exit "not a map (Coder's test case)" 2 \
  "$(printf 'yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `region ...` into map[string]interface {}' | head -1)" \
  st -t docker --rich-parameter-file "$T/bad.yaml"
check "... its second line" 1 "$(grep -cFx '  line 1: cannot unmarshal !!str `region ...` into map[string]interface {}' "$T/err")"
printf 'cpu: 1.5\n' >"$T/float.yaml"
expect_exit "a float is no parameter value" 2 'invalid parameter type: float64 (parameter "cpu", line 1)' \
  st -t docker --rich-parameter-file "$T/float.yaml"
printf 'cpu:\n' >"$T/null.yaml"
expect_exit "nor is null" 2 'invalid parameter type: <nil>' st -t docker --rich-parameter-file "$T/null.yaml"
printf 'cpu: {a: 1}\n' >"$T/map.yaml"
expect_exit "nor a map" 2 'invalid parameter type: map[string]interface {}' st -t docker --rich-parameter-file "$T/map.yaml"
printf 'cpu: [.nan]\n' >"$T/nan.yaml"
expect_exit "a list json cannot write" 2 'json: unsupported value: NaN' st -t docker --rich-parameter-file "$T/nan.yaml"
printf 'cpu: 1\ncpu: 2\n' >"$T/dup.yaml"
expect_exit "a key twice (yaml.v3)" 2 'line 2: mapping key "cpu" already defined at line 1' st -t docker --rich-parameter-file "$T/dup.yaml"
printf 'cpu: 1\n  memory: 2\n' >"$T/syntax.yaml"
expect_exit "a syntax error (yaml.v3's wording)" 2 'yaml: line 2: mapping values are not allowed in this context' \
  st -t docker --rich-parameter-file "$T/syntax.yaml"
printf 'cpu: !!int abc\n' >"$T/tag.yaml"
expect_exit "a tag its value does not fit" 2 'yaml: cannot decode !!str `abc` as a !!int' st -t docker --rich-parameter-file "$T/tag.yaml"
printf 'nosuch: 1\n' >"$T/unknown.yaml"
expect_exit "a name the template lacks" 2 "--rich-parameter-file $T/unknown.yaml: parameter nosuch: template docker has no parameter" \
  st -t docker --rich-parameter-file "$T/unknown.yaml"

# --- --max-failures (coder/coder PR 21315)
check "nothing created by the refused runs" "0 0" "$(leftovers)"
si_start --build-time 0 --agent-delay 0 --fail-create-workspace 1
rc=0; st -t docker -c 2 --concurrency 0 --label maxf0 >"$T/out" 2>"$T/err" || rc=$?
check "2 failed, no --max-failures: exit 1" 1 $rc
rc=0; st -t docker -c 2 --concurrency 0 --label maxf1 --max-failures 1 >"$T/out" 2>"$T/err" || rc=$?
check "2 failed, --max-failures 1: exit 1" 1 $rc
rc=0; st -t docker -c 2 --concurrency 0 --label maxf2 --max-failures 2 >"$T/out" 2>"$T/err" || rc=$?
check "2 failed, --max-failures 2: exit 0" 0 $rc
check "... the failures still reported" "0 succeeded, 2 failed to create workspace" "$(grep -E '^[0-9]+ succeeded' "$T/err")"
rc=0; CODER_SCALETEST_MAX_FAILURES=5 st -t docker -c 2 --concurrency 0 --label maxfenv >"$T/out" 2>"$T/err" || rc=$?
check "CODER_SCALETEST_MAX_FAILURES=5: exit 0" 0 $rc
expect_exit "bad --max-failures" 2 '--max-failures "-1": must be a whole number, 0 or more' st -t docker --max-failures -1
check "nothing left on the server" "0 0" "$(leftovers)"
done_testing
