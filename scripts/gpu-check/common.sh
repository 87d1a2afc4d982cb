# Sourced by call1.sh and call2.sh (docs/GPU.md, "The GPU check"): the time budget, the step runner,
# the summary and the results that go back to the session.
#
# A call owns DEADLINE_S seconds from its start (each call sets its default; at most 540, under the
# device tool's 600-second limit for a command). Every step runs under `timeout` for the least of its own cap, its phase's
# end and what is left before the deadline less RESERVE_S (the packing at the end), and is skipped
# when fewer than its minimum seconds remain. Each step's output goes to its own log in the
# results folder; one line per step goes to stdout and to SUMMARY.txt as soon as it ends, and the
# results are packed into $OUT after every step, so a call cut short still brings back the steps
# it finished.
#
# Environment: OUT (where the results go; the device tool sets it), GPU_CHECK_WORK (scratch and the
# results folder before packing; default /tmp/gpu-check), JRE_TXZ (default .device/jre.txz of the
# repository), JRE_DIR (default /tmp/jre), PYTHON (default python3), DEADLINE_S, RESERVE_S.

gc_start=$(date +%s)
deadline=${DEADLINE_S:-540}
[ "$deadline" -le 540 ] || deadline=540
reserve=${RESERVE_S:-15}
gc_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # build/gpu-bundle/core/gpu-check
bundle=$(cd "$gc_here/../.." && pwd)                     # build/gpu-bundle
repo=$(cd "$bundle/../.." && pwd)                        # the repository's root
py=${PYTHON:-python3}
work=${GPU_CHECK_WORK:-/tmp/gpu-check}

elapsed() { echo $(( $(date +%s) - gc_start )); }
left() { echo $(( deadline - $(elapsed) )); }

# gc_init NAME: the results folder $res (= $work/NAME), the summary, OUT.
gc_init() {
  name=$1
  OUT=${OUT:-$work/out}
  mkdir -p "$OUT" "$work"
  res=$work/$name
  rm -rf "$res" && mkdir -p "$res"
  summary=$res/SUMMARY.txt
  : > "$summary"
  : > "$res/steps.tsv"
}

# say TEXT: one line to stdout and the summary.
say() { echo "$*" | tee -a "$summary"; }

# pack: the results folder as $OUT/NAME-results.tar.gz and its summary as $OUT/NAME-SUMMARY.txt
# (two files: the device tool brings back at most eight).
pack() {
  tar czf "$OUT/$name-results.tar.gz.tmp" -C "$work" "$name" 2>/dev/null && mv "$OUT/$name-results.tar.gz.tmp" "$OUT/$name-results.tar.gz"
  cp "$summary" "$OUT/$name-SUMMARY.txt"
}

# step NAME CAP MIN [--until T] -- COMMAND...: COMMAND with stdout and stderr in $res/NAME.log,
# under timeout. Sets step_rc (124: timed out; -1: skipped) and step_s; appends to steps.tsv.
step() {
  local sname=$1 cap=$2 min=$3 until=$deadline
  shift 3
  if [ "$1" = --until ]; then until=$2; shift 2; fi
  [ "$1" = -- ] && shift
  local limit=$cap avail=$(( deadline - reserve - $(elapsed) )) phase=$(( until - $(elapsed) ))
  [ $avail -lt $limit ] && limit=$avail
  [ $phase -lt $limit ] && limit=$phase
  step_note=""
  if [ $limit -lt "$min" ]; then
    step_rc=-1; step_s=0; step_note="not run: ${limit}s left for it, it needs ${min}s"
    printf '%s\tskipped\t0\t%s\n' "$sname" "$step_note" >> "$res/steps.tsv"
    return 0
  fi
  local t0 t1
  t0=$(date +%s.%N)
  echo "# $* (timeout ${limit}s, at $(elapsed)s of the call)" > "$res/$sname.log"
  timeout -k 10 "$limit" "$@" >> "$res/$sname.log" 2>&1
  step_rc=$?
  t1=$(date +%s.%N)
  step_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  [ $step_rc -eq 124 ] || [ $step_rc -eq 137 ] && echo "# timed out after ${limit}s" >> "$res/$sname.log"
  printf '%s\t%s\t%s\t%s\n' "$sname" "$step_rc" "$step_s" "limit ${limit}s" >> "$res/steps.tsv"
  return 0
}

# status_word: ok / failed (rc) / TIMED OUT / skipped, from step_rc.
status_word() {
  case $step_rc in
    0) echo ok ;;
    -1) echo skipped ;;
    124|137) echo "TIMED OUT" ;;
    *) echo "failed (exit $step_rc)" ;;
  esac
}

# row NAME TEXT: one summary line for the step just run (a step skipped for time says so instead).
row() {
  local text=$2
  [ "$step_rc" = -1 ] && [ -n "${step_note:-}" ] && text=$step_note
  say "$(printf '%-24s %-16s %7ss  %s' "$1" "$(status_word)" "$step_s" "$text")"
  step_note=""
  pack
}

# setup_java: unpacks the JRE (once per machine) and puts it first on PATH.
setup_java() {
  local jre_txz=${JRE_TXZ:-$repo/.device/jre.txz} jre_dir=${JRE_DIR:-/tmp/jre}
  if [ ! -x "$jre_dir/bin/java" ]; then
    [ -f "$jre_txz" ] || { say "no JRE: $jre_txz is missing (carry .device; make gpu-bundle makes it)"; return 1; }
    mkdir -p "$(dirname "$jre_dir")"
    local t=$jre_dir.partial; rm -rf "$t" && mkdir -p "$t"
    timeout 120 tar xJf "$jre_txz" -C "$t" || { say "could not unpack $jre_txz"; return 1; }
    rm -rf "$jre_dir" && mv "$t/jre" "$jre_dir" && rm -rf "$t"
  fi
  export JAVA_HOME=$jre_dir PATH=$jre_dir/bin:$PATH
}

# machine_report: what the results are from (the GPU, its driver and clocks, the tools), into
# $res/machine.txt and nvidia-smi.txt; prints the essentials.
machine_report() {
  local commit gpu
  commit=$(cat "$bundle/core/COMMIT" 2>/dev/null || echo unknown)
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit (of the bundle): $commit"
    echo "host: $(uname -srm); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "java: $(java -version 2>&1 | grep -v '^Picked up' | tr '\n' ' ')"
    echo "python: $("$py" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1)"
    echo "nvcc: $(nvcc --version 2>/dev/null | tail -1 || echo none)"
    local san; san=$(sanitizer_path) || san=""
    echo "compute-sanitizer: ${san:-none}${san:+, $("$san" --version 2>&1 | grep -i -m1 version)}"
    echo "JAVA_TOOL_OPTIONS: ${JAVA_TOOL_OPTIONS:-}; LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-}"
    echo "libcuda / libcublas found:"
    timeout 20 find /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia /usr/local/cuda/ /opt \
      \( -name 'libcuda.so.1' -o -name 'libcublas.so.1[23]' \) 2>/dev/null | head -8 | sed 's/^/  /'
  } > "$res/machine.txt" 2>&1
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi > "$res/nvidia-smi.txt" 2>&1
    nvidia-smi -q >> "$res/nvidia-smi.txt" 2>&1
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,temperature.gpu,power.draw --format=csv,noheader 2>&1 | head -1)
  else
    gpu="no nvidia-smi on this host (not a GPU machine)"
    echo "$gpu" > "$res/nvidia-smi.txt"
  fi
  echo "GPU (name, driver, memory, SM/mem clock now, max, temperature, power): $gpu" >> "$res/machine.txt"
  say "commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say "GPU: $gpu"
  say "$(grep -E '^(java|python|compute-sanitizer):' "$res/machine.txt" | cut -c1-160)"
}

# sanitizer_path: compute-sanitizer on PATH or in the toolkit's usual places.
sanitizer_path() {
  local c
  for c in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
           /usr/local/cuda/compute-sanitizer/compute-sanitizer /opt/nvidia/compute-sanitizer/compute-sanitizer; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

# junit_counts LOG [PROGRESS]: "N ok, N failed, N skipped, N aborted" from the console launcher's
# summary, or, where the run was stopped before it (no summary), from PROGRESS (run-gpu-tests.sh's
# progress.tsv: one line per finished test); then the first failed tests' names.
junit_counts() {
  local log=$1 progress=${2:-} c bad
  [ -f "$log" ] || log=/dev/null
  c=$(awk '/tests successful/ { s = $2 } /tests failed/ { f = $2 } /tests skipped/ { k = $2 } /tests aborted/ { a = $2 }
           END { if (s != "") printf "%s ok, %s failed, %s skipped, %s aborted", s, f, k, a }' "$log")
  if [ -z "$c" ] && [ -n "$progress" ] && [ -f "$progress" ]; then
    c=$(awk -F'\t' '{ n[$1]++ } END { printf "stopped before the end; finished: %d ok, %d failed, %d skipped, %d aborted, %d cut by the stop", n["OK"], n["FAILED"], n["SKIPPED"], n["ABORTED"], n["STOPPED"] }' "$progress")
  fi
  [ -n "$progress" ] && [ -f "$progress" ] && bad=$(awk -F'\t' '$1 == "FAILED" { print $3 }' "$progress" | head -5 | tr '\n' ';' | cut -c1-300)
  echo "${c:-no test finished}${bad:+; failed: $bad}"
}
