# shellcheck shell=bash
# PID 1 of a sandbox: root, ignores every catchable signal, reaps orphans (bash reaps any child on SIGCHLD).
# Argument: the root-only scratch dir. The runner says `up` on the fifo there once it serves and `stop` when its
# worker's stream ends (the worker died or let go); PID 1 then exits, so the container stops and every process in it
# dies. Without a runner within 120 s (its worker died while starting it), PID 1 exits too. A stopped sandbox is
# removed by any worker's periodic reaper (sandboxes/reaper.ts).
trap '' TERM INT HUP QUIT USR1 USR2 PIPE ALRM
rm -f "$1/.init" && mkfifo -m 0600 "$1/.init" && exec 3<>"$1/.init" || exit 70
read -r -t 120 -u 3 word && [ "$word" = up ] || exit 0
while :; do
  read -r -u 3 word
  [ "$word" = stop ] && exit 0
done
