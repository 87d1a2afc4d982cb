#!/usr/bin/env bash
# Tests of bin/elbo4j, the launcher, on the built jars (run by `make test` after Maven): the JVM's
# incubator-module line is dropped from stderr and nothing else is; exit statuses are the JVM's;
# Ctrl-C at a terminal and SIGTERM still stop `train` with its checkpoint and resume line (the
# stderr filter ignores both signals, so the JVM's last words get out). Prints one pass count.
set -uo pipefail
cd "$(dirname "$0")/.."
elbo4j=bin/elbo4j
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "launcher-test: FAILED: $1" >&2; [ -f "${2:-}" ] && sed 's/^/    /' "$2" | tail -20 >&2; }
train_args=(train --dataset mnist --train-limit 2000 --test-limit 200 --epochs 500 --hidden 64 --device cpu)

# 1. A command that succeeds writes nothing to stderr.
"$elbo4j" --version >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && [ ! -s "$tmp/err" ] && grep -q '^elbo4j' "$tmp/out"; then ok; else bad "--version: exit 0, stdout only" "$tmp/err"; fi

# 2. A usage error: exit 2, its two lines and nothing else, before anything the shell prints next.
for i in 1 2 3; do
  { "$elbo4j" train --bogus; echo "exit $?"; } >"$tmp/both" 2>&1
  if [ "$(sed -n 1p "$tmp/both")" = "elbo4j train: Unknown option: '--bogus'" ] \
      && [ "$(sed -n 3p "$tmp/both")" = "exit 2" ] && [ "$(wc -l <"$tmp/both")" -eq 3 ]; then ok
  else bad "usage error, try $i: two lines, then exit 2" "$tmp/both"; fi
done

# 3. ELBO4J_JVM_NOTES=1 keeps the JVM's line: the filter is what removes it.
ELBO4J_JVM_NOTES=1 "$elbo4j" --version >/dev/null 2>"$tmp/err"
if grep -q '^WARNING: Using incubator modules: jdk.incubator.vector$' "$tmp/err"; then ok; else bad "ELBO4J_JVM_NOTES=1 keeps the JVM's line" "$tmp/err"; fi

# Waits (up to 120 s) until file $1 shows `train` past its first epoch.
await_training() {
  for _ in $(seq 1200); do grep -q 'epoch 2/' "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# 4. SIGTERM to the command's process (java itself, by exec): exit 143, the checkpoint and the
#    resume line on stderr.
"$elbo4j" "${train_args[@]}" --no-progress --out "$tmp/term" >"$tmp/term.out" 2>"$tmp/term.err" &
pid=$!
if await_training "$tmp/term.err"; then
  # By now the CLI writes to the launcher's own stderr, not the startup filter's pipe.
  fd2=$(readlink "/proc/$pid/fd/2" 2>/dev/null || echo "?")
  if [ "$fd2" = "$tmp/term.err" ] || [ ! -d /proc/$pid ]; then ok
  else bad "stderr reclaimed from the startup filter: the JVM's descriptor 2 is $fd2" "$tmp/term.err"; fi
  kill -TERM "$pid"; wait "$pid"; code=$?
  if [ "$code" -eq 143 ] && grep -q 'stopped by SIGTERM' "$tmp/term.err" && grep -q -- '--resume' "$tmp/term.err" \
      && [ -f "$tmp/term/checkpoint.safetensors" ] && ! grep -q 'incubator' "$tmp/term.err"; then ok
  else bad "SIGTERM: exit $code, want 143 with the stop line" "$tmp/term.err"; fi
else
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; bad "SIGTERM: train did not reach epoch 2" "$tmp/term.err"
fi

# 5. Ctrl-C at a terminal (a pseudo-terminal by `script`; the terminal sends SIGINT to the whole
#    foreground process group, the filter included): exit 130, the stop line gets out.
if command -v script >/dev/null; then
  # (stdin stays open until the command has ended: at its end `script` would hang up the terminal.
  # `script` runs the line with $SHELL, else /bin/sh: dash, in CI, dies of the SIGINT before its
  # `echo EXIT=`, where bash waits for java and goes on when java exits 130 itself; so bash, always.)
  { await_training "$tmp/int.log"; printf '\003'
    for _ in $(seq 600); do grep -q 'EXIT=' "$tmp/int.log" && break; sleep 0.1; done; } |
    SHELL=$(command -v bash) timeout 150 script -qfec "$elbo4j ${train_args[*]} --out $tmp/int; echo EXIT=\$?" /dev/null >"$tmp/int.log" 2>&1
  if grep -q 'stopped by SIGINT' "$tmp/int.log" && grep -q 'EXIT=130' "$tmp/int.log" && [ -f "$tmp/int/checkpoint.safetensors" ]; then ok
  else bad "Ctrl-C at a terminal: want the stop line and exit 130" "$tmp/int.log"; fi
else
  echo "launcher-test: no 'script' command: the Ctrl-C case did not run"
fi

# 6. SIGTERM after the last epoch (the final log p(x), here k=20000 to keep it busy): the run is saved; a line
#    says so and how to get the figures, exit 143 (it ended with nothing said).
"$elbo4j" train --dataset mnist --train-limit 2000 --test-limit 200 --epochs 1 --hidden 64 --device cpu --eval-k 20000 \
  --no-progress --out "$tmp/fin" >"$tmp/fin.out" 2>"$tmp/fin.err" &
pid=$!
for _ in $(seq 1200); do grep -q 'epoch 1/1:' "$tmp/fin.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5; kill -TERM "$pid"; wait "$pid"; code=$?
if [ "$code" -eq 143 ] && grep -q 'stopped by SIGTERM after the last epoch' "$tmp/fin.err" && grep -q "elbo4j eval -c $tmp/fin" "$tmp/fin.err"; then ok
else bad "SIGTERM in the final evaluation: exit $code, want 143 with a line saying the run is saved" "$tmp/fin.err"; fi

# 7. The bash completion script (`elbo4j generate-completion`, installed by `make install`) completes
#    commands, nested subcommands, flags and a flag's values.
if "$elbo4j" generate-completion >"$tmp/completion.bash" 2>"$tmp/err"; then
  cat >"$tmp/complete.sh" <<'SH'
source "$1"
c() { COMP_LINE="$*"; COMP_WORDS=($@); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_POINT=${#COMP_LINE}; COMPREPLY=()
      _complete_elbo4j 2>/dev/null; echo "${COMPREPLY[*]}"; }
c elbo4j in; c elbo4j latent sc; c elbo4j train --mo; c elbo4j train --preset kingma
SH
  got=$(bash "$tmp/complete.sh" "$tmp/completion.bash" | paste -sd'|')
  if [ "$got" = "info|scatter|--model|kingma2014-m2" ]; then ok; else echo "got: $got" >"$tmp/got"; bad "bash completion" "$tmp/got"; fi
else
  bad "generate-completion: exit $?" "$tmp/err"
fi

echo "launcher: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
