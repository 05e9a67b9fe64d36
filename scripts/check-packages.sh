#!/usr/bin/env bash
# Does DEB_PACKAGES (scripts/lib.sh) name every Debian package whose headers or
# libraries the build uses? The packages are derived from the build itself:
#   make -n -B prints every compile and link command of src/, client/ and
#   standin/; each compile is rerun with gcc -H (every header the compiler
#   resolves, and which file included it), each link with -Wl,-t (every library
#   file the linker opens); a pkg-config wrapper records the modules the
#   Makefiles ask for. dpkg -S then names the package of each header included
#   from our own sources (not the compiler's own headers), of each library a -l
#   flag names, and of each module's .pc file. Fails naming what is missing.
source "$(dirname "$0")/lib.sh"

WORK=$(mktemp -d /tmp/cs-pkgs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

make -C "$ROOT" -s >/dev/null        # the links need the objects

# pkg-config as the Makefiles call it, recording the modules they name
mkdir "$WORK/bin"
cat >"$WORK/bin/pkg-config" <<EOF
#!/bin/sh
for a in "\$@"; do case \$a in -*) ;; *) echo "\$a" >>"$WORK/modules" ;; esac; done
exec /usr/bin/pkg-config "\$@"
EOF
chmod +x "$WORK/bin/pkg-config"
: >"$WORK/modules"
PATH=$WORK/bin:$PATH make -C "$ROOT" -n -B -w >"$WORK/commands"

compiler_include=$(gcc -print-file-name=include)
: >"$WORK/files"
dir=$ROOT
while IFS= read -r line; do
  case $line in
    *"Entering directory '"*) dir=${line#*Entering directory \'}; dir=${dir%\'}; continue ;;
    gcc\ *|cc\ *) ;;
    *) continue ;;
  esac
  read -ra cmd <<<"$line"
  if [[ " $line " == *" -c "* ]]; then
    # drop "-c" and "-o X.o"; print the include tree instead
    args=() skip=0
    for a in "${cmd[@]}"; do
      if [ $skip = 1 ]; then skip=0; continue; fi
      case $a in -c) ;; -o) skip=1 ;; *) args+=("$a") ;; esac
    done
    (cd "$dir" && "${args[@]}" -fsyntax-only -H 2>&1 >/dev/null) | awk -v dir="$dir" -v root="$ROOT" -v cc="$compiler_include" -v src="$dir/${args[-1]}" '
      # ".. /usr/include/x.h": depth 2, included by the last depth-1 file
      /^\.+ / { d = length($1); f = $2; if (f !~ /^\//) f = dir "/" f
                parent = (d == 1) ? src : stack[d - 1]; stack[d] = f
                if (index(parent, root) == 1 && index(f, root) != 1 && index(f, cc) != 1) print f }
    ' >>"$WORK/files" \
      || die "check-packages: the compile of ${args[-1]} in $dir failed when rerun with gcc -H; run make -C $dir to see why"
  elif [[ " $line " == *" -o "* ]]; then
    # link into a scratch file with the linker tracing what it opens
    args=() skip=0 libs=()
    for a in "${cmd[@]}"; do
      if [ $skip = 1 ]; then skip=0; args+=("$WORK/linked"); continue; fi
      case $a in -o) skip=1; args+=("$a") ;; -l*) libs+=("${a#-l}"); args+=("$a") ;; *) args+=("$a") ;; esac
    done
    [ ${#libs[@]} -gt 0 ] || continue
    (cd "$dir" && "${args[@]}" -Wl,-t 2>/dev/null) >"$WORK/trace" \
      || die "this link failed: (cd $dir && ${args[*]})"
    for l in "${libs[@]}"; do
      grep -E "/lib${l//+/\\+}\.(so|a)\$" "$WORK/trace" | head -n 1 >>"$WORK/files" \
        || die "-l$l: the linker opened no lib$l.so or lib$l.a"
    done
  fi
done <"$WORK/commands"

sort -u "$WORK/modules" | while read -r m; do pkg-config --path "$m"; done >>"$WORK/files"

# dpkg -S FILE: "package[:arch]: path"; resolve "..", keep symlinked names
: >"$WORK/needed"
while read -r f; do realpath -s "$f"; done <"$WORK/files" | sort -u | while read -r f; do
  owner=$(dpkg -S "$f" 2>/dev/null | head -n 1) || die "no Debian package owns $f"
  echo "${owner%%:*} $f" >>"$WORK/needed"
done
[ -s "$WORK/needed" ] || die "found no header or library at all: the derivation is broken"

missing=0
while read -r pkg; do
  files=$(awk -v p="$pkg" '$1 == p { print $2 }' "$WORK/needed")
  if printf '%s\n' "${DEB_PACKAGES[@]}" | grep -qx "$pkg"; then
    echo "ok - $pkg: $(echo "$files" | head -n 1)$([ "$(echo "$files" | wc -l)" = 1 ] || echo " and $(($(echo "$files" | wc -l) - 1)) more")"
  else
    echo "not ok - $pkg is used by the build but not in DEB_PACKAGES (scripts/lib.sh): $(echo "$files" | head -n 3 | tr '\n' ' ')"
    missing=1
  fi
done < <(cut -d' ' -f1 "$WORK/needed" | sort -u)
exit $missing
